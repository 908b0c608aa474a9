{{/* Where the tiers find each other: cluster DNS names and URLs of NATS and Redis. */}}

{{- define "meme-generator.svcDomain" -}}
{{- printf "svc.%s" .Values.clusterDomain }}
{{- end }}

{{/* Client URL of NATS: the chart's own Service, or nats.external.url. */}}
{{- define "meme-generator.natsUrl" -}}
{{- if .Values.nats.enabled }}
{{- $c := dict "ctx" . "component" "nats" }}
{{- printf "nats://%s.%s.%s:%d" (include "meme-generator.componentName" $c) (include "meme-generator.namespace" $c) (include "meme-generator.svcDomain" .) (int .Values.nats.service.clientPort) }}
{{- else }}
{{- .Values.nats.external.url }}
{{- end }}
{{- end }}

{{/* The route URLs of a clustered NATS, as a JSON list; with users they carry the route user and $(NATS_ROUTE_PASSWORD), which Kubernetes expands in the container's args. */}}
{{- define "meme-generator.natsRoutes" -}}
{{- $c := dict "ctx" . "component" "nats" }}
{{- $name := include "meme-generator.componentName" $c }}
{{- $ns := include "meme-generator.namespace" $c }}
{{- $user := ternary "route:$(NATS_ROUTE_PASSWORD)@" "" .Values.nats.auth.enabled }}
{{- $routes := list }}
{{- range $i := until (int .Values.nats.replicas) }}
{{- $routes = append $routes (printf "nats://%s%s-%d.%s-headless.%s.%s:%d" $user $name $i $name $ns (include "meme-generator.svcDomain" $) (int $.Values.nats.service.clusterPort)) }}
{{- end }}
{{- toJson $routes }}
{{- end }}

{{/*
host:port of the NATS monitoring endpoint KEDA reads /jsz from: the override,
else the chart's NATS (its headless Service when clustered, so KEDA can reach
every server), else nats.external.monitoringEndpoint.
*/}}
{{- define "meme-generator.natsMonitoringEndpoint" -}}
{{- if .Values.backend.autoscaling.keda.monitoringEndpoint }}
{{- .Values.backend.autoscaling.keda.monitoringEndpoint }}
{{- else if .Values.nats.enabled }}
{{- $c := dict "ctx" . "component" "nats" }}
{{- $name := include "meme-generator.componentName" $c }}
{{- if gt (int .Values.nats.replicas) 1 }}{{ $name = printf "%s-headless" $name }}{{ end }}
{{- printf "%s.%s.%s:%d" $name (include "meme-generator.namespace" $c) (include "meme-generator.svcDomain" .) (int .Values.nats.service.monitorPort) }}
{{- else }}
{{- .Values.nats.external.monitoringEndpoint }}
{{- end }}
{{- end }}

{{/* Redis URL: the chart's standalone Service, the operator's Service (named after the Redis resource), or redis.external.url. */}}
{{- define "meme-generator.redisUrl" -}}
{{- if eq .Values.redis.mode "external" }}
{{- .Values.redis.external.url }}
{{- else }}
{{- $c := dict "ctx" . "component" "redis" }}
{{- printf "redis://%s.%s.%s:%d" (include "meme-generator.componentName" $c) (include "meme-generator.namespace" $c) (include "meme-generator.svcDomain" .) (int .Values.redis.service.port) }}
{{- end }}
{{- end }}
