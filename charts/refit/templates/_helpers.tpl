{{/* Names are cut at 63 characters: the DNS label limit for Services and labels. */}}
{{- define "refit.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "refit.fullname" -}}
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

{{- define "refit.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "refit.labels" -}}
helm.sh/chart: {{ include "refit.chart" . }}
{{ include "refit.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: refit
{{- end }}

{{/* Selector labels never change after install (a Deployment's selector is immutable). */}}
{{- define "refit.selectorLabels" -}}
app.kubernetes.io/name: {{ include "refit.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "refit.operatorSelectorLabels" -}}
{{ include "refit.selectorLabels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "refit.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "refit.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository:tag, or repository@digest when a digest is pinned. */}}
{{- define "refit.image" -}}
{{- if .image.digest }}
{{- printf "%s@%s" .image.repository .image.digest }}
{{- else }}
{{- printf "%s:%s" .image.repository (.image.tag | default .default) }}
{{- end }}
{{- end }}

{{- define "refit.mlflow.fullname" -}}
{{- printf "%s-mlflow" (include "refit.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "refit.mlflow.selectorLabels" -}}
{{ include "refit.selectorLabels" . }}
app.kubernetes.io/component: mlflow
{{- end }}

{{/* In-cluster URL of the bundled MLflow; `<svc>.<ns>.svc` resolves from any namespace,
     which matters because training Jobs run in the pipelines' namespaces. */}}
{{- define "refit.mlflow.url" -}}
{{- printf "http://%s.%s.svc:%v" (include "refit.mlflow.fullname" .) .Release.Namespace .Values.mlflow.service.port }}
{{- end }}

{{- define "refit.trackingUri" -}}
{{- if .Values.mlflow.enabled }}
{{- include "refit.mlflow.url" . }}
{{- else }}
{{- .Values.operator.mlflowTrackingUri }}
{{- end }}
{{- end }}

{{/* True (non-empty) in the namespaced install mode. */}}
{{- define "refit.namespaced" -}}
{{- if .Values.watchNamespaces }}true{{ end }}
{{- end }}

{{/* Host headers the bundled MLflow accepts: every name of its Service, with any port,
     plus localhost (kubectl port-forward) and the user's extras. */}}
{{- define "refit.mlflow.allowedHosts" -}}
{{- $svc := include "refit.mlflow.fullname" . }}
{{- $ns := .Release.Namespace }}
{{- $hosts := list }}
{{- range $h := list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) "localhost" "127.0.0.1" }}
{{- $hosts = append (append $hosts $h) (printf "%s:*" $h) }}
{{- end }}
{{- $hosts = concat $hosts .Values.mlflow.extraAllowedHosts }}
{{- join "," $hosts }}
{{- end }}
