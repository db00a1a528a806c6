# One image for every nerops role: its entrypoint is the `ner-ops` CLI
#   (operator, serve, fetch-model, train, evaluate, validate, predict).
# The operator starts pods with `command: ["ner-ops", ...]`, so `ner-ops` is also on PATH.
#
#   npm run image:build          # scripts/build-image.sh: nerops:dev and nerops:<version>
#   docker build -t nerops:dev . # the same on any Docker host that can pull node:20-bookworm-slim
#   docker run --rm nerops:dev --help
#
# No `# syntax=` line and no BuildKit-only instruction: the classic builder (DOCKER_BUILDKIT=0)
# builds it too, without pulling a frontend image.
# Base images can be pinned by digest for reproducible and air-gapped builds:
#   docker build --build-arg NODE_IMAGE=registry.example/library/node:20-bookworm-slim@sha256:... .
# or be made locally (no container registry at all): scripts/build-base-image.sh.
# Behind a TLS-inspecting proxy, pass its CA (PEM text) to the npm stages only:
#   docker build --build-arg "EXTRA_CA_PEM=$(cat proxy-ca.pem)" .
# The runtime stage never declares EXTRA_CA_PEM: the image does not carry or trust that CA.
# glibc (Debian) rather than musl (alpine): onnxruntime-node ships glibc binaries only.
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: dev dependencies, TypeScript compile ------------------------------------------------
FROM ${NODE_IMAGE} AS build
# PEM of an extra CA for npm's TLS (a TLS-inspecting proxy); empty: only Node's own roots.
ARG EXTRA_CA_PEM=""
WORKDIR /src
# CPU only: onnxruntime-node's install script would download CUDA binaries. .npmrc carries
# onnxruntime-node-install-cuda=skip, package.json's allowScripts denies the script to npm >= 11.16, and
# ONNXRUNTIME_NODE_INSTALL=skip is onnxruntime's own switch: any one of them keeps the download off.
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
# npm-ci-checked.sh: npm ci with the extra CA (if any) and a check that it installed everything
# (npm 10 can exit 0 with half a node_modules); tsc's bin link is the last thing npm writes.
COPY scripts/npm-ci-checked.sh /usr/local/lib/nerops-build/
RUN sh /usr/local/lib/nerops-build/npm-ci-checked.sh \
 && test -x node_modules/.bin/tsc
COPY tsconfig.json tsconfig.build.json ./
COPY contracts ./contracts
COPY cli ./cli
COPY engine ./engine
COPY trainer ./trainer
COPY server ./server
COPY loadgen ./loadgen
COPY operator ./operator
COPY scripts ./scripts
COPY bench ./bench
COPY local-cluster ./local-cluster
COPY testing ./testing
COPY test ./test
RUN npm run build

# ---- production dependencies only ----------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
ARG EXTRA_CA_PEM=""
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
COPY scripts/npm-ci-checked.sh /usr/local/lib/nerops-build/
# onnxruntime-node ships binaries for several platforms: keep the linux CPU library of this architecture.
RUN sh /usr/local/lib/nerops-build/npm-ci-checked.sh --omit=dev \
 && npm cache clean --force \
 && arch="$(node -p process.arch)" \
 && find node_modules/onnxruntime-node/bin -mindepth 3 -maxdepth 3 -type d ! -path "*/linux/${arch}" -prune -exec rm -rf {} + \
 && test -e "node_modules/onnxruntime-node/bin/napi-v6/linux/${arch}/libonnxruntime.so.1"

# ---- runtime: node + production node_modules + compiled JS, non-root -----------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    NODE_OPTIONS=--enable-source-maps
WORKDIR /app
# No npm/npx/corepack/yarn in the final image: only `node` runs here.
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
           /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* /root/.npm /tmp/*
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/dist/contracts ./dist/contracts
COPY --from=build /src/dist/cli ./dist/cli
COPY --from=build /src/dist/engine ./dist/engine
COPY --from=build /src/dist/trainer ./dist/trainer
COPY --from=build /src/dist/server ./dist/server
COPY --from=build /src/dist/loadgen ./dist/loadgen
COPY --from=build /src/dist/operator ./dist/operator
# `ner-ops` on PATH, and `kubectl-ner` (kubectl finds it as the `kubectl ner` plugin); the build fails if the
# onnxruntime CPU binding is missing or cannot load.
RUN chmod 0755 /app/dist/cli/ner-ops.js /app/dist/cli/kubectl-ner.js \
 && ln -s /app/dist/cli/ner-ops.js /usr/local/bin/ner-ops \
 && ln -s /app/dist/cli/kubectl-ner.js /usr/local/bin/kubectl-ner \
 && node -e "import('onnxruntime-node').then(() => console.log('onnxruntime-node ok'))"
# 65532: the UID the operator sets in every pod's securityContext (runAsUser/runAsGroup/fsGroup).
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["node", "/app/dist/cli/ner-ops.js"]
CMD ["--help"]
