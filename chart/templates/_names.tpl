{{/*
Names, labels and images, computed in one place. Helpers that take a component are
called with (dict "ctx" $ "component" "frontend").
*/}}

{{- define "meme-generator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* release-chart, or the release name alone when it already contains the chart name. */}}
{{- define "meme-generator.fullname" -}}
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

{{/* The component's name value when set, else <fullname>-<component>. */}}
{{- define "meme-generator.componentName" -}}
{{- $values := index .ctx.Values .component | default dict }}
{{- if $values.name }}
{{- $values.name }}
{{- else }}
{{- printf "%s-%s" (include "meme-generator.fullname" .ctx) .component | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Namespace of a component's tier: namespaces.app, .messaging (nats) or .cache (redis), else the release's. */}}
{{- define "meme-generator.namespace" -}}
{{- $tier := get (dict "nats" "messaging" "redis" "cache") .component | default "app" }}
{{- index .ctx.Values.namespaces $tier | default .ctx.Release.Namespace }}
{{- end }}

{{- define "meme-generator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels never change after a release: name, instance and component only. */}}
{{- define "meme-generator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "meme-generator.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "meme-generator.labels" -}}
helm.sh/chart: {{ include "meme-generator.chart" .ctx }}
{{ include "meme-generator.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: {{ include "meme-generator.name" .ctx }}
{{- end }}

{{/* Labels of monitoring objects: ours plus monitoring.labels, which kube-prometheus-stack selects on. */}}
{{- define "meme-generator.monitoringLabels" -}}
{{ include "meme-generator.labels" . }}
{{- with .ctx.Values.monitoring.labels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The application image; the tag defaults to the chart's appVersion. */}}
{{- define "meme-generator.image" -}}
{{- $image := .Values.image }}
{{- printf "%s:%s" $image.repository (default .Chart.AppVersion $image.tag) }}
{{- end }}

{{/* An image of a dependency (nats, redis, exporters): repository:tag. */}}
{{- define "meme-generator.imageOf" -}}
{{- printf "%s:%s" .repository .tag }}
{{- end }}
