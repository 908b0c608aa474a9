{{/* The optional APIs the chart renders for, and what scales the backend as a result. */}}

{{/*
Whether an optional API can be used: capabilities.<name> forces it (present or
absent), auto asks the cluster. Returns "true" or "".
Call with (dict "ctx" $ "name" "keda" "api" "keda.sh/v1alpha1/ScaledObject").
*/}}
{{- define "meme-generator.capabilities.has" -}}
{{- $setting := index .ctx.Values.capabilities .name }}
{{- if eq $setting "present" }}true
{{- else if eq $setting "auto" }}{{ if .ctx.Capabilities.APIVersions.Has .api }}true{{ end }}
{{- end }}
{{- end }}

{{- define "meme-generator.hasKeda" -}}
{{- include "meme-generator.capabilities.has" (dict "ctx" . "name" "keda" "api" "keda.sh/v1alpha1/ScaledObject") }}
{{- end }}

{{- define "meme-generator.hasVpa" -}}
{{- include "meme-generator.capabilities.has" (dict "ctx" . "name" "vpa" "api" "autoscaling.k8s.io/v1/VerticalPodAutoscaler") }}
{{- end }}

{{- define "meme-generator.hasPrometheusOperator" -}}
{{- include "meme-generator.capabilities.has" (dict "ctx" . "name" "prometheusOperator" "api" "monitoring.coreos.com/v1/ServiceMonitor") }}
{{- end }}

{{/*
What scales the backend: keda, hpa (a CPU HPA; min 1) or none (fixed
replicas). KEDA enabled but absent follows backend.autoscaling.keda.whenUnavailable.
*/}}
{{- define "meme-generator.backend.scaler" -}}
{{- $keda := .Values.backend.autoscaling.keda }}
{{- if $keda.enabled }}
{{- if include "meme-generator.hasKeda" . }}keda
{{- else if eq $keda.whenUnavailable "hpa" }}hpa
{{- else if eq $keda.whenUnavailable "skip" }}none
{{- else }}{{ fail "backend.autoscaling.keda is enabled but KEDA's API (keda.sh/v1alpha1 ScaledObject) is not in this cluster: install KEDA, or set backend.autoscaling.keda.whenUnavailable to hpa or skip (or capabilities.keda to present when rendering offline)" }}
{{- end }}
{{- else if .Values.backend.autoscaling.hpa.enabled }}hpa
{{- else }}none
{{- end }}
{{- end }}
