{{/* The peers and ports of the NetworkPolicies (networkpolicies.yaml). */}}

{{/* DNS for every pod that sends traffic: networkPolicy.dnsPeers on port 53. */}}
{{- define "meme-generator.np.dns" -}}
- to:
    {{- toYaml .Values.networkPolicy.dnsPeers | nindent 4 }}
  ports:
    - {port: 53, protocol: UDP}
    - {port: 53, protocol: TCP}
{{- end }}

{{/* Every pod of a namespace, as a NetworkPolicy peer. */}}
{{- define "meme-generator.np.namespace" -}}
- namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ . }}
{{- end }}

{{/* The pods of a component in a namespace, as a NetworkPolicy peer: (dict "namespace" ns "c" component-dict). */}}
{{- define "meme-generator.np.peer" -}}
- namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ .namespace }}
  podSelector:
    matchLabels:
      {{- include "meme-generator.selectorLabels" .c | nindent 6 }}
{{- end }}

{{/* Egress to NATS: its pods, or anywhere on its port for an external NATS. (dict "ctx" $ "peer" peer-yaml). */}}
{{- define "meme-generator.np.nats" -}}
- to:
    {{- if .peer }}
    {{- .peer | nindent 4 }}
    {{- else }}
    - ipBlock: {cidr: 0.0.0.0/0}
    {{- end }}
  ports:
    - {port: {{ .ctx.Values.nats.service.clientPort }}, protocol: TCP}
{{- end }}

{{/* Egress to Redis: its pods, or anywhere on its port for an external Redis. */}}
{{- define "meme-generator.np.redis" -}}
- to:
    {{- if .peer }}
    {{- .peer | nindent 4 }}
    {{- else }}
    - ipBlock: {cidr: 0.0.0.0/0}
    {{- end }}
  ports:
    - {port: {{ .ctx.Values.redis.service.port }}, protocol: TCP}
{{- end }}

{{/* The Redis pods as a peer: the chart's StatefulSet, or the pods the operator makes for the Redis resource (labelled by it, app: <name>). */}}
{{- define "meme-generator.np.redisPeer" -}}
{{- $c := dict "ctx" . "component" "redis" }}
{{- if eq .Values.redis.mode "operator" }}
- namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ include "meme-generator.namespace" $c }}
  podSelector:
    matchLabels:
      app: {{ include "meme-generator.componentName" $c }}
      redis_setup_type: standalone
{{- else }}
{{- include "meme-generator.np.peer" (dict "namespace" (include "meme-generator.namespace" $c) "c" $c) }}
{{- end }}
{{- end }}

{{/* While an upgrade moves NATS or Redis to another namespace: egress to the old ones, which the old revision's pods (selected by the same policy) use until they stop. */}}
{{- define "meme-generator.np.movedTiers" -}}
{{- range (include "meme-generator.dataMove" . | fromJson).tiers }}
- to:
    {{- toYaml .peers | nindent 4 }}
{{- end }}
{{- end }}
