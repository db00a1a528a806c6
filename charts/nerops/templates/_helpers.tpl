{{/* Chart name, truncated to 63 characters. */}}
{{- define "nerops.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart, or fullnameOverride. */}}
{{- define "nerops.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "nerops.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "nerops.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: nerops
{{- end }}

{{- define "nerops.selectorLabels" -}}
app.kubernetes.io/name: {{ include "nerops.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "nerops.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "nerops.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The one image: <registry>/<repository>[:tag][@digest]. */}}
{{- define "nerops.image" -}}
{{- $i := .Values.image -}}
{{- $repo := ternary $i.repository (printf "%s/%s" $i.registry $i.repository) (empty $i.registry) -}}
{{- $tag := default .Chart.AppVersion $i.tag -}}
{{- if $i.digest -}}
{{- printf "%s:%s@%s" $repo $tag $i.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}
{{- end }}

{{/* Namespace the operator reconciles in namespaced mode. */}}
{{- define "nerops.watchNamespace" -}}
{{- default .Release.Namespace .Values.scope.watchNamespace -}}
{{- end }}

{{/* Namespace of the leader Lease: the watch namespace in namespaced mode, else the release namespace. */}}
{{- define "nerops.leaseNamespace" -}}
{{- if eq .Values.scope.mode "namespaced" -}}
{{- include "nerops.watchNamespace" . -}}
{{- else -}}
{{- .Release.Namespace -}}
{{- end -}}
{{- end }}

{{/*
Rules for the operator's workload permissions: exactly the verbs the controllers use
(operator/src/controllers, operator/src/runtime). Shared by the ClusterRole and the namespaced Role.
*/}}
{{- define "nerops.workloadRules" -}}
# NerModel, NerDeployment, DriftPolicy: informers (list/watch) and reads.
- apiGroups: [nerops.io]
  resources: [nermodels, nerdeployments, driftpolicies]
  verbs: [get, list, watch]
# DriftPolicy: a succeeded retraining Job becomes a new NerModel (server-side apply creates it).
- apiGroups: [nerops.io]
  resources: [nermodels]
  verbs: [create, patch]
# DriftPolicy: the dataset version of spec.triggers.datasetRef (read by name, never listed).
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get]
# Status through the /status subresource (server-side apply = patch).
- apiGroups: [nerops.io]
  resources: [nermodels/status, nerdeployments/status, driftpolicies/status]
  verbs: [get, patch, update]
# Children carry ownerReferences with blockOwnerDeletion, which clusters with the
# OwnerReferencesPermissionEnforcement admission plugin check against the owner's finalizers.
- apiGroups: [nerops.io]
  resources: [nermodels/finalizers, nerdeployments/finalizers, driftpolicies/finalizers]
  verbs: [update]
# Serving Deployments, their Services and PodDisruptionBudgets (server-side apply creates and updates).
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, create, patch]
- apiGroups: [""]
  resources: [services]
  verbs: [get, list, watch, create, patch]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [get, list, watch, create, patch]
# Validation (and retraining) Jobs.
- apiGroups: [batch]
  resources: [jobs]
  verbs: [get, list, watch, create, patch]
# A finished Job's pod carries its result in the termination message: read only.
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list]
# Events on transitions (events.k8s.io/v1; create only).
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create]
{{- end }}
