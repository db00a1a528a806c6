#!/usr/bin/env bash
# End-to-end in a real cluster, for machines with Docker (it cannot run on the project's CI machines,
# which have no Docker engine; there, `npm test` runs the same scenarios against a local control plane
# with process nodes). Not yet run end to end: scripts/e2e-kind.test.ts checks what it applies.
# Needs: docker, kind, helm, kubectl (>= 1.25), node/npm, and access to the Prometheus image.
#
#   npm run e2e:kind                       # cluster, image, install, then the three scenarios below
#   KEEP=1 npm run e2e:kind                # keep the cluster afterwards
#   E2E_PRINT=1 bash scripts/e2e-kind.sh   # only print every manifest it applies (placeholder digests)
#   (also: CLUSTER, IMAGE, APP_NS, PROM_IMAGE, TIMEOUT_S = seconds per wait, default 600)
#
# 1. smoke:  NerModel v1 (http:// from the bundle-store pod) → Ready → served; one extraction request.
# 2. canary: NerModel v2 of the same family becomes Ready while a `ner-ops traffic` pod sends load to the
#            Service → the NerDeployment canaries it (one 50 % step, analysis every 10 s) and promotes it.
# 3. drift:  a DriftPolicy on the unknown-token rate stays Healthy under in-distribution traffic; shifted
#            traffic → Warning → a retraining Job (`ner-ops retrain`) → a new NerModel → canary → promoted
#            → Healthy again against the new model's baseline.
#
# Storage: `ner-ops retrain` writes its bundle only through local paths (file://, pvc://; it may read the
# dataset over http(s) too), and validation Jobs and serving pods read pvc:// by mounting the claim. So the
# retraining output (and, here, the dataset) live on one ReadWriteOnce PVC (kind's default local-path class)
# that every pod mounts: this works because a kind cluster has a single node. A multi-node cluster needs a
# ReadWriteMany class.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CLUSTER=${CLUSTER:-nerops-e2e}
IMAGE=${IMAGE:-nerops:e2e}
PROM_IMAGE=${PROM_IMAGE:-quay.io/prometheus/prometheus:v2.53.0}
NS=nerops-system
APP_NS=${APP_NS:-nerops-e2e}
TIMEOUT_S=${TIMEOUT_S:-600} # per wait
STORE=http://bundle-store.$APP_NS.svc
POLICY=clinical-ner-drift

# ---- manifests (functions, so E2E_PRINT=1 can show them for review and `kubectl apply --dry-run`) ----

# A ReadWriteOnce claim for datasets and retrained bundles, and a pod that seeds it from the e2e-store
# ConfigMap and serves it over http (the base models' http:// source).
store_yaml() {
  cat <<YAML
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: nerops-store}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: bundle-store, labels: {app: bundle-store}}
spec:
  securityContext: {runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: {type: RuntimeDefault}}
  initContainers:
    - name: seed
      image: $IMAGE
      imagePullPolicy: Never
      command: [sh, -c, "mkdir -p /store/datasets && cp /seed/model-*.tar.gz /store/ && cp /seed/retrain.conll /store/datasets/"]
      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
      volumeMounts: [{name: seed, mountPath: /seed}, {name: store, mountPath: /store}]
  containers:
    - name: http
      image: $IMAGE
      imagePullPolicy: Never
      command:
        - node
        - -e
        - |
          const http = require('http'), fs = require('fs'), path = require('path');
          http.createServer((req, res) => {
            const name = path.basename(new URL(req.url, 'http://store').pathname);
            fs.createReadStream('/store/' + name).on('error', () => res.writeHead(404).end()).pipe(res);
          }).listen(8000);
      readinessProbe: {tcpSocket: {port: 8000}, periodSeconds: 2}
      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
      volumeMounts: [{name: store, mountPath: /store, readOnly: true}]
  volumes:
    - {name: seed, configMap: {name: e2e-store}}
    - {name: store, persistentVolumeClaim: {claimName: nerops-store}}
---
apiVersion: v1
kind: Service
metadata: {name: bundle-store}
spec: {selector: {app: bundle-store}, ports: [{port: 80, targetPort: 8000}]}
YAML
}

# Prometheus scraping the inference servers of APP_NS (their prometheus.io/* annotations) every 2 s.
prometheus_yaml() {
  cat <<YAML
apiVersion: v1
kind: ServiceAccount
metadata: {name: prometheus}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: prometheus}
rules: [{apiGroups: [""], resources: [pods], verbs: [get, list, watch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: prometheus}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: prometheus}
subjects: [{kind: ServiceAccount, name: prometheus, namespace: $APP_NS}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: prometheus}
data:
  prometheus.yml: |
    global: {scrape_interval: 2s, evaluation_interval: 10s}
    scrape_configs:
      - job_name: nerops-servers
        honor_labels: true
        kubernetes_sd_configs: [{role: pod, namespaces: {names: [$APP_NS]}}]
        relabel_configs:
          - {source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape], regex: "true", action: keep}
          - {source_labels: [__meta_kubernetes_pod_ip, __meta_kubernetes_pod_annotation_prometheus_io_port], regex: "(.+);(.+)", replacement: "\${1}:\${2}", target_label: __address__}
          - {source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_path], regex: "(.+)", target_label: __metrics_path__}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: prometheus}
spec:
  selector: {matchLabels: {app: prometheus}}
  template:
    metadata: {labels: {app: prometheus}}
    spec:
      serviceAccountName: prometheus
      securityContext: {runAsNonRoot: true, runAsUser: 65534, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: prometheus
          image: $PROM_IMAGE
          args: [--config.file=/etc/prometheus/prometheus.yml, --storage.tsdb.path=/prometheus, --storage.tsdb.retention.time=2h]
          ports: [{name: http, containerPort: 9090}]
          readinessProbe: {httpGet: {path: /-/ready, port: 9090}, periodSeconds: 5}
          securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
          volumeMounts: [{name: config, mountPath: /etc/prometheus}, {name: data, mountPath: /prometheus}]
      volumes:
        - {name: config, configMap: {name: prometheus}}
        - {name: data, emptyDir: {}}
---
apiVersion: v1
kind: Service
metadata: {name: prometheus}
spec: {selector: {app: prometheus}, ports: [{name: http, port: 9090, targetPort: 9090}]}
YAML
}

# model_yaml NAME VERSION FILE DIGEST
model_yaml() {
  cat <<YAML
apiVersion: nerops.io/v1alpha1
kind: NerModel
metadata: {name: $1}
spec:
  family: clinical-ner
  version: $2
  format: crf
  source: {uri: "$STORE/$3", digest: "$4"}
  entityTypes: [DISEASE, TREATMENT]
YAML
}

# Follows the newest Ready model of the family; a short canary so the scenario takes minutes.
deployment_yaml() {
  cat <<YAML
apiVersion: nerops.io/v1alpha1
kind: NerDeployment
metadata: {name: clinical-ner}
spec:
  modelSelector: {family: clinical-ner}
  replicas: {min: 1, max: 3}
  rollout:
    steps: [{weight: 50, pauseSeconds: 20}]
    analysisIntervalSeconds: 10
    minSampleCount: 20
YAML
}

# Only the unknown-token rate: shifted notes are ~60 % unknown tokens for a model trained on the base
# vocabulary (Warning), never 100 % (critical 1 is out of reach), in-distribution notes ~0 %.
driftpolicy_yaml() {
  cat <<YAML
apiVersion: nerops.io/v1alpha1
kind: DriftPolicy
metadata: {name: $POLICY}
spec:
  targetRef: {name: clinical-ner}
  interval: 15s
  window: 1m
  minSamples: 50
  signals: [{name: unknown-token-rate, type: unknownTokenRate, warning: 0.1, critical: 1}]
  consecutiveBreaches: 2
  cooldown: 1h
  onWarning: Retrain
  onCritical: Alert
  retraining:
    datasetUri: pvc://nerops-store/datasets/retrain.conll
    outputUri: pvc://nerops-store/retrained
    activeDeadlineSeconds: 900
YAML
}

# traffic_yaml VOCABULARY: `ner-ops traffic` against the Service, 20 req/s until deleted.
traffic_yaml() {
  cat <<YAML
apiVersion: v1
kind: Pod
metadata: {name: traffic-$1, labels: {app: e2e-traffic}}
spec:
  restartPolicy: Never
  securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}
  containers:
    - name: traffic
      image: $IMAGE
      imagePullPolicy: Never
      args: [traffic, --url, "http://clinical-ner:8080", --rate, "20", --duration, "3600", --vocabulary, $1, --seed, "7"]
      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
YAML
}

if [[ -n "${E2E_PRINT:-}" ]]; then
  zeros=0000000000000000000000000000000000000000000000000000000000000000
  for doc in store_yaml prometheus_yaml "model_yaml clinical-ner-v1 1.0.0 model-1.tar.gz $zeros" \
    "model_yaml clinical-ner-v2 1.1.0 model-2.tar.gz $zeros" deployment_yaml driftpolicy_yaml "traffic_yaml base" "traffic_yaml shifted"; do
    $doc
    echo ---
  done
  exit 0
fi

# ---- helpers ----
say() { echo "e2e-kind: $*" >&2; }
ns() { kubectl -n "$APP_NS" "$@"; }
# jsonpath OBJECT PATH: one field of an object (empty when absent).
jsonpath() { ns get "$1" -o "jsonpath=$2" 2>/dev/null || true; }
# until_set OBJECT PATH: wait until the field is non-empty, print it.
until_set() {
  local v deadline=$((SECONDS + TIMEOUT_S))
  until v=$(jsonpath "$1" "$2") && [[ -n "$v" ]]; do
    ((SECONDS < deadline)) || { say "timed out waiting for $1 $2"; return 1; }
    sleep 3
  done
  echo "$v"
}
wait_for() { ns wait "$1" --for="jsonpath=$2=$3" --timeout="${TIMEOUT_S}s"; }

for bin in docker kind helm kubectl node; do
  command -v "$bin" >/dev/null || { echo "e2e-kind: '$bin' is required" >&2; exit 2; }
done

cleanup() {
  local rc=$?
  if ((rc != 0)) && [[ "$(kubectl config current-context 2>/dev/null)" == "kind-$CLUSTER" ]]; then
    say "failed (exit $rc); what the cluster looks like:"
    kubectl get ner,deploy,pods,jobs -n "$APP_NS" -o wide >&2 || true
    kubectl -n "$APP_NS" get events --sort-by=.lastTimestamp 2>/dev/null | tail -n 30 >&2 || true
    kubectl -n "$NS" logs deploy/nerops --tail=40 >&2 || true
  fi
  [[ -n "${KEEP:-}" ]] || kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
}
trap cleanup EXIT

kind get clusters | grep -qx "$CLUSTER" || kind create cluster --name "$CLUSTER" --wait 120s
kubectl config use-context "kind-$CLUSTER" >/dev/null

docker build -t "$IMAGE" .
kind load docker-image "$IMAGE" --name "$CLUSTER"

helm upgrade --install nerops charts/nerops -n "$NS" --create-namespace --wait --timeout 5m \
  --set image.registry= --set image.repository="${IMAGE%%:*}" --set image.tag="${IMAGE##*:}" \
  --set image.pullPolicy=Never --set prometheus.url="http://prometheus.$APP_NS.svc:9090"
kubectl -n "$NS" rollout status deploy/nerops --timeout=180s

# Two real bundles of the family (different data and seed) and a retraining dataset (base + shifted
# annotated notes), trained and written locally with the same CLI, then served from the bundle-store pod.
npm run build >/dev/null
work=$(mktemp -d)
cli() { node dist/cli/ner-ops.js "$@"; }
for v in 1 2; do
  cli synth --count 300 --seed "$v" --out "$work/train-$v.conll"
  cli synth --count 60 --seed "$((v + 10))" --out "$work/dev-$v.conll"
  cli train --train "$work/train-$v.conll" --dev "$work/dev-$v.conll" --out "$work/model-$v" --seed "$v" --quiet >/dev/null
  tar -C "$work/model-$v" -czf "$work/model-$v.tar.gz" .
done
digest1=$(sha256sum "$work/model-1/ner-model.json" | cut -d' ' -f1)
digest2=$(sha256sum "$work/model-2/ner-model.json" | cut -d' ' -f1)
cli synth --count 300 --seed 21 --out "$work/retrain-base.conll"
cli synth --count 300 --seed 22 --vocabulary shifted --out "$work/retrain-shifted.conll"
cat "$work/retrain-base.conll" "$work/retrain-shifted.conll" >"$work/retrain.conll"

kubectl delete namespace "$APP_NS" --ignore-not-found --wait --timeout=5m # a clean slate on reruns (KEEP=1)
kubectl create namespace "$APP_NS"
ns create configmap e2e-store --from-file="$work/model-1.tar.gz" --from-file="$work/model-2.tar.gz" \
  --from-file="$work/retrain.conll" --dry-run=client -o yaml | ns apply --server-side -f - # > 256 KiB: no last-applied annotation
{ store_yaml; echo ---; prometheus_yaml; } | ns apply -f -
ns wait pod/bundle-store --for=condition=Ready --timeout="${TIMEOUT_S}s"
ns rollout status deploy/prometheus --timeout="${TIMEOUT_S}s"

say "1/3 smoke: NerModel v1 served"
{ model_yaml clinical-ner-v1 1.0.0 model-1.tar.gz "$digest1"; echo ---; deployment_yaml; } | ns apply -f -
wait_for nermodel/clinical-ner-v1 '{.status.phase}' Ready
wait_for nerdeployment/clinical-ner '{.status.stableModel}' clinical-ner-v1
ns wait deploy -l nerops.io/deployment=clinical-ner --for=condition=Available --timeout="${TIMEOUT_S}s"
ns run e2e-client --rm -i --restart=Never --image="$IMAGE" --image-pull-policy=Never \
  --overrides='{"spec":{"securityContext":{"runAsNonRoot":true,"runAsUser":65532,"seccompProfile":{"type":"RuntimeDefault"}}}}' \
  --command -- node -e "fetch('http://clinical-ner:8080/v1/extract',{method:'POST',headers:{'content-type':'application/json'},body:JSON.stringify({text:'Patient with type 2 diabetes was started on metformin.'})}).then(r=>r.text()).then(t=>{console.log(t);process.exit(t.includes('entities')?0:1)})"

say "2/3 canary: NerModel v2 canaried under load and promoted"
traffic_yaml base | ns apply -f -
ns wait pod/traffic-base --for=condition=Ready --timeout="${TIMEOUT_S}s"
model_yaml clinical-ner-v2 1.1.0 model-2.tar.gz "$digest2" | ns apply -f -
wait_for nermodel/clinical-ner-v2 '{.status.phase}' Ready
wait_for nerdeployment/clinical-ner '{.status.stableModel}' clinical-ner-v2
last=$(jsonpath nerdeployment/clinical-ner '{.status.history[-1:].model} {.status.history[-1:].outcome}')
[[ "$last" == "clinical-ner-v2 Promoted" ]] || { say "expected a promoted canary in status.history, got '$last'"; exit 1; }
ns get nerdeployment clinical-ner

say "3/3 drift: Healthy in distribution; shifted traffic → Warning → retraining → new model promoted"
driftpolicy_yaml | ns apply -f -
wait_for "driftpolicy/$POLICY" '{.status.state}' Healthy
sleep 45 # three more evaluations in distribution: still Healthy, no retraining
[[ "$(jsonpath "driftpolicy/$POLICY" '{.status.state}')" == Healthy && -z "$(jsonpath "driftpolicy/$POLICY" '{.status.activeJob.name}')" ]] ||
  { say "in-distribution traffic left Healthy"; ns get driftpolicy "$POLICY" -o yaml >&2; exit 1; }
ns delete pod traffic-base --wait
traffic_yaml shifted | ns apply -f -
wait_for "driftpolicy/$POLICY" '{.status.state}' Warning
outcome=$(until_set "driftpolicy/$POLICY" '{.status.history[0].outcome}')
job=$(jsonpath "driftpolicy/$POLICY" '{.status.history[0].jobName}')
say "retraining Job $job: $outcome"
[[ "$outcome" == Succeeded ]] || { jsonpath "driftpolicy/$POLICY" '{.status.history[0].message}' >&2; ns logs "job/$job" --tail=20 >&2 || true; exit 1; }
model=$(jsonpath "driftpolicy/$POLICY" '{.status.history[0].model}')
say "retrained NerModel $model ($(jsonpath "nermodel/$model" '{.spec.source.uri}'))"
wait_for "nermodel/$model" '{.status.phase}' Ready
wait_for nerdeployment/clinical-ner '{.status.stableModel}' "$model"
wait_for "driftpolicy/$POLICY" '{.status.state}' Healthy
ns logs traffic-shifted --tail=1
ns delete pod traffic-shifted --wait
kubectl get ner -A
echo "e2e-kind: ok"
