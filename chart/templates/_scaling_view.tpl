{{/* What the frontend's scaling view watches (frontend/deployment.yaml, frontend/scaling-view-rbac.yaml). */}}

{{/*
What the frontend's scaling view watches, as YAML: per lane the namespace, the autoscaler's name and
the label selector of its pods; a lane whose autoscaler the release does not render is left out.
*/}}
{{- define "meme-generator.scalingTargets" -}}
{{- $fe := dict "ctx" . "component" "frontend" }}
{{- $be := dict "ctx" . "component" "backend" }}
{{- $redis := dict "ctx" . "component" "redis" }}
{{- $selector := dict }}
{{- $out := dict }}
{{- if .Values.frontend.autoscaling.hpa.enabled }}
{{- $_ := set $out "frontend" (dict "namespace" (include "meme-generator.namespace" $fe) "name" (default (include "meme-generator.componentName" $fe) .Values.frontend.autoscaling.hpa.name) "pods" (include "meme-generator.selectorString" (include "meme-generator.selectorLabels" $fe | fromYaml))) }}
{{- end }}
{{- if eq (include "meme-generator.backend.scaler" .) "keda" }}
{{- $_ := set $out "backend" (dict "namespace" (include "meme-generator.namespace" $be) "name" (default (include "meme-generator.componentName" $be) .Values.backend.autoscaling.keda.name) "pods" (include "meme-generator.selectorString" (include "meme-generator.selectorLabels" $be | fromYaml))) }}
{{- end }}
{{- $vpa := .Values.redis.autoscaling.vpa }}
{{- if and $vpa.enabled (ne .Values.redis.mode "external") (include "meme-generator.hasVpa" .) }}
{{- $labels := (index (include "meme-generator.np.redisPeer" . | fromYamlArray) 0).podSelector.matchLabels }}
{{- $_ := set $out "redis" (dict "namespace" (include "meme-generator.namespace" $redis) "name" (default (include "meme-generator.componentName" $redis) $vpa.name) "pods" (include "meme-generator.selectorString" $labels)) }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/* A map of labels as a label selector: k=v pairs joined by commas, in key order. */}}
{{- define "meme-generator.selectorString" -}}
{{- $pairs := list }}
{{- range $k, $v := . }}{{ $pairs = append $pairs (printf "%s=%s" $k $v) }}{{ end }}
{{- join "," $pairs }}
{{- end }}
