{{/*
The release's objects are called <release>-galeractl (or <release> when it already says
galeractl); the Galera cluster's own objects are named after galera.name by the controller.
*/}}
{{- define "galeractl.fullname" -}}
{{- if contains "galeractl" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-galeractl" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "galeractl.selectorLabels" -}}
app.kubernetes.io/name: galeractl
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/component: controller
{{- end -}}

{{- define "galeractl.labels" -}}
{{ include "galeractl.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | quote }}
{{- end -}}

{{/* The labels the cluster's ServiceMonitor (templates/kubernetes) selects the metrics by. */}}
{{- define "galeractl.clusterLabels" -}}
galeractl.io/cluster: {{ .Values.galera.name | quote }}
{{- end -}}

{{- define "galeractl.serviceAccountName" -}}
{{- if .Values.serviceAccount.name -}}
{{- .Values.serviceAccount.name -}}
{{- else if .Values.serviceAccount.create -}}
{{- include "galeractl.fullname" . -}}
{{- else -}}
default
{{- end -}}
{{- end -}}

{{- define "galeractl.image" -}}
{{- printf "%s:%s" .Values.controller.image.repository (.Values.controller.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/* "true" when the chart's ServiceMonitor is to be installed. */}}
{{- define "galeractl.serviceMonitor" -}}
{{- $want := .Values.monitoring.serviceMonitor.enabled -}}
{{- if eq (toString $want) "true" -}}
{{- if not .Values.monitoring.service.enabled -}}
{{- fail "monitoring.serviceMonitor.enabled: needs monitoring.service.enabled (it selects that Service)" -}}
{{- end -}}
{{- if .Values.galera.monitoring.serviceMonitor.enabled -}}
{{- fail "monitoring.serviceMonitor.enabled: galera.monitoring.serviceMonitor.enabled is true too; enable one of them (two would scrape the controller twice)" -}}
{{- end -}}
true
{{- else if and (eq (toString $want) "auto") .Values.monitoring.service.enabled (not .Values.galera.monitoring.serviceMonitor.enabled) (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1") -}}
true
{{- end -}}
{{- end -}}

{{/* "true" when the chart's PrometheusRule is to be installed. */}}
{{- define "galeractl.prometheusRule" -}}
{{- $want := .Values.monitoring.prometheusRule.enabled -}}
{{- if eq (toString $want) "true" -}}
{{- if .Values.galera.monitoring.prometheusRule.enabled -}}
{{- fail "monitoring.prometheusRule.enabled: galera.monitoring.prometheusRule.enabled is true too; enable one of them (two would fire every alert twice)" -}}
{{- end -}}
true
{{- else if and (eq (toString $want) "auto") (not .Values.galera.monitoring.prometheusRule.enabled) (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1") -}}
true
{{- end -}}
{{- end -}}

{{/* The controller refuses objects outside its own namespace: fail at install time instead. */}}
{{- define "galeractl.checkNamespace" -}}
{{- if and .Values.galera.namespace (ne .Values.galera.namespace .Release.Namespace) -}}
{{- fail (printf "galera.namespace: %q is not the release's namespace %q; leave it empty" .Values.galera.namespace .Release.Namespace) -}}
{{- end -}}
{{- end -}}

{{/* The cluster's TLS Secret (kubernetes.io/tls: ca.crt, tls.crt, tls.key), as the templates name it. */}}
{{- define "galeractl.tlsSecret" -}}
{{- .Values.galera.tls.secretName | default (printf "%s-tls" .Values.galera.name) -}}
{{- end -}}
