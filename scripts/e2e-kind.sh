#!/usr/bin/env bash
# End-to-end in a real cluster, for machines with Docker (it cannot run on the project's CI machines,
# which have no Docker engine; there, `npm test` runs the same install checks against a local control
# plane). Needs: docker, kind, helm, kubectl, node/npm.
#
#   npm run e2e:kind                 # create cluster, build + load image, install, apply samples, wait
#   KEEP=1 npm run e2e:kind          # keep the cluster afterwards
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CLUSTER=${CLUSTER:-nerops-e2e}
IMAGE=${IMAGE:-nerops:e2e}
NS=nerops-system
APP_NS=${APP_NS:-nerops-e2e}

for bin in docker kind helm kubectl node; do
  command -v "$bin" >/dev/null || { echo "e2e-kind: '$bin' is required" >&2; exit 2; }
done

cleanup() { [[ -n "${KEEP:-}" ]] || kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true; }
trap cleanup EXIT

kind get clusters | grep -qx "$CLUSTER" || kind create cluster --name "$CLUSTER" --wait 120s
kubectl config use-context "kind-$CLUSTER" >/dev/null

docker build -t "$IMAGE" .
kind load docker-image "$IMAGE" --name "$CLUSTER"

helm upgrade --install nerops charts/nerops -n "$NS" --create-namespace --wait --timeout 5m \
  --set image.registry= --set image.repository="${IMAGE%%:*}" --set image.tag="${IMAGE##*:}" \
  --set image.pullPolicy=Never
kubectl -n "$NS" rollout status deploy/nerops --timeout=180s

# A real bundle, served from a PVC-less http source: train it locally, publish it from a pod.
npm run build >/dev/null
bundle=$(mktemp -d)
node dist/cli/ner-ops.js synth --count 300 --out "$bundle/train.conll" --seed 1
node dist/cli/ner-ops.js synth --count 60 --out "$bundle/dev.conll" --seed 2
node dist/cli/ner-ops.js train --train "$bundle/train.conll" --dev "$bundle/dev.conll" --out "$bundle/model" --seed 1 --quiet >/dev/null
digest=$(sha256sum "$bundle/model/ner-model.json" | cut -d' ' -f1)
tar -C "$bundle/model" -czf "$bundle/model.tar.gz" .

kubectl create namespace "$APP_NS" --dry-run=client -o yaml | kubectl apply -f -
kubectl -n "$APP_NS" create configmap e2e-bundle --from-file=model.tar.gz="$bundle/model.tar.gz" --dry-run=client -o yaml | kubectl apply -f -
kubectl -n "$APP_NS" apply -f - <<YAML
apiVersion: v1
kind: Pod
metadata: {name: bundle-store, labels: {app: bundle-store}}
spec:
  securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}
  containers:
    - name: http
      image: $IMAGE
      imagePullPolicy: Never
      command: [node, -e, "const h=require('http'),f=require('fs');h.createServer((q,s)=>f.createReadStream('/b/model.tar.gz').on('error',()=>s.writeHead(404).end()).pipe(s)).listen(8000)"]
      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
      volumeMounts: [{name: b, mountPath: /b}]
  volumes: [{name: b, configMap: {name: e2e-bundle}}]
---
apiVersion: v1
kind: Service
metadata: {name: bundle-store}
spec: {selector: {app: bundle-store}, ports: [{port: 80, targetPort: 8000}]}
---
apiVersion: nerops.io/v1alpha1
kind: NerModel
metadata: {name: clinical-ner-e2e}
spec:
  family: clinical-ner
  version: 1.0.0
  format: crf
  source: {uri: "http://bundle-store.$APP_NS.svc/model.tar.gz", digest: "$digest"}
  entityTypes: [DISEASE, TREATMENT]
---
apiVersion: nerops.io/v1alpha1
kind: NerDeployment
metadata: {name: clinical-ner}
spec:
  modelSelector: {family: clinical-ner}
  replicas: {min: 1, max: 3}
YAML

kubectl -n "$APP_NS" wait nermodel/clinical-ner-e2e --for=jsonpath='{.status.phase}'=Ready --timeout=300s
kubectl -n "$APP_NS" wait deploy -l nerops.io/deployment=clinical-ner --for=condition=Available --timeout=300s
kubectl -n "$APP_NS" run e2e-client --rm -i --restart=Never --image="$IMAGE" --image-pull-policy=Never \
  --overrides='{"spec":{"securityContext":{"runAsNonRoot":true,"runAsUser":65532,"seccompProfile":{"type":"RuntimeDefault"}}}}' \
  --command -- node -e "fetch('http://clinical-ner:8080/v1/extract',{method:'POST',headers:{'content-type':'application/json'},body:JSON.stringify({text:'Patient with type 2 diabetes was started on metformin.'})}).then(r=>r.text()).then(t=>{console.log(t);process.exit(t.includes('entities')?0:1)})"
kubectl get ner -A
echo "e2e-kind: ok"
