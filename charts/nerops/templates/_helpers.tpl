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

{{/* The RBAC rules (nerops.workloadRules, nerops.leaderElectionRules) are in _rbac-rules.tpl, generated from operator/permissions.ts. */}}
