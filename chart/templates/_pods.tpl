{{/* What the pods of the application share: their settings, environment, probes and the Deployments' pod template. */}}

{{/*
The settings of the application's containers that come from shared values: where NATS and Redis
are, and the queue's settings. Each container gets those its subcommand reads (the list in
_variables.tpl, generated from the program's declarations): (dict "ctx" $ "command" "frontend").
*/}}
{{- define "meme-generator.appEnv" -}}
{{- $ctx := .ctx }}
{{- $v := $ctx.Values }}
{{- $reads := get (include "meme-generator.variablesOf" $ctx | fromJson) .command }}
{{- $env := list
  (dict "name" "LOG_LEVEL" "value" $v.logLevel)
  (dict "name" "NATS_URL" "value" (include "meme-generator.natsUrl" $ctx))
  (dict "name" "NATS_STREAM" "value" $v.queue.stream)
  (dict "name" "NATS_CONSUMER" "value" $v.queue.consumer)
  (dict "name" "NATS_REQUEST_SUBJECT" "value" $v.queue.requestSubject)
  (dict "name" "NATS_RESPONSE_SUBJECT" "value" $v.queue.responseSubject)
  (dict "name" "NATS_STREAM_REPLICAS" "value" $v.queue.replicas)
  (dict "name" "NATS_STREAM_MAX_BYTES" "value" $v.queue.maxBytes)
  (dict "name" "NATS_MAX_MSG_SIZE" "value" $v.queue.maxMsgSize)
  (dict "name" "NATS_ACK_WAIT" "value" $v.queue.ackWaitSeconds)
  (dict "name" "NATS_MAX_DELIVER" "value" $v.queue.maxDeliver)
  (dict "name" "REDIS_URL" "value" (include "meme-generator.redisUrl" $ctx))
}}
{{- if include "meme-generator.redisAuth" $ctx }}
{{- $env = append $env (dict "name" "REDIS_PASSWORD" "valueFrom" (dict "secretKeyRef" (include "meme-generator.redisAuthSecret" $ctx | fromJson))) }}
{{- end }}
{{- $env = append $env (dict "name" "CACHE_TTL" "value" $v.cache.ttlSeconds) }}
{{- if include "meme-generator.natsAuth" $ctx }}
{{- $user := include "meme-generator.natsUserOf" .command }}
{{- if $user }}
{{- $env = append $env (dict "name" "NATS_PASSWORD" "valueFrom" (dict "secretKeyRef" (dict "name" (include "meme-generator.natsUsersSecret" $ctx) "key" $user))) }}
{{- end }}
{{- end }}
{{- $out := list }}
{{- range $env }}
{{- if has .name $reads }}
{{- $out = append $out (hasKey . "valueFrom" | ternary . (dict "name" .name "value" (toString .value))) }}
{{- end }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/* Proxies whose X-Forwarded-For the frontend believes: the value, else 1 behind the chart's Ingress, else none. */}}
{{- define "meme-generator.trustedProxyHops" -}}
{{- $hops := .Values.frontend.settings.trustedProxyHops }}
{{- if kindIs "invalid" $hops }}{{ ternary 1 0 .Values.frontend.ingress.enabled }}{{ else }}{{ int $hops }}{{ end }}
{{- end }}

{{/* Pod-level settings every pod of ours shares; only a pod given apiToken mounts its ServiceAccount token. */}}
{{- define "meme-generator.podCommon" -}}
automountServiceAccountToken: {{ .apiToken | default false }}
{{- with .ctx.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .values.podSecurityContext | nindent 2 }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- range . }}
  - {{ toYaml (merge (dict) . (dict "labelSelector" (dict "matchLabels" (include "meme-generator.selectorLabels" $ | fromYaml)))) | nindent 4 | trim }}
  {{- end }}
{{- end }}
{{- end }}

{{/* A probe from values: (dict "probe" .Values.x.probes.liveness "http" (dict "path" "/healthz" "port" "http")). */}}
{{- define "meme-generator.probe" -}}
httpGet:
  path: {{ .path }}
  port: {{ .port }}
initialDelaySeconds: {{ .probe.initialDelaySeconds }}
periodSeconds: {{ .probe.periodSeconds }}
timeoutSeconds: {{ .probe.timeoutSeconds }}
failureThreshold: {{ .probe.failureThreshold }}
{{- end }}

{{/*
The pod template of the application's Deployments: the labels, the checksums that restart the pods
when a password changes, the shared pod settings, and the one container running the subcommand
`command`, which listens on the component's `ports` values (each port's variable set from it) and
gets the shared variables it reads, then `env` (the component's own, a list), then extraEnv.
(dict "ctx" $ "component" "frontend" "values" .Values.frontend "apiToken" bool "command" "frontend" "env" list)
*/}}
{{- define "meme-generator.podTemplate" -}}
{{- $ctx := .ctx }}
{{- $v := .values }}
metadata:
  labels:
    {{- include "meme-generator.selectorLabels" . | nindent 4 }}
    {{- with $v.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    {{- if include "meme-generator.natsAuth" $ctx }}
    # Restarts the pods when the NATS users' passwords change.
    checksum/nats-users: {{ include "meme-generator.natsUsersChecksum" $ctx }}
    {{- end }}
    {{- if include "meme-generator.redisAuth" $ctx }}
    # And when Redis's password changes.
    checksum/redis-auth: {{ include "meme-generator.redisAuthChecksum" $ctx }}
    {{- end }}
    {{- with $v.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "meme-generator.componentName" . }}
  {{- include "meme-generator.podCommon" . | nindent 2 }}
  terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
  containers:
    - name: {{ .component }}
      image: {{ include "meme-generator.image" $ctx }}
      imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
      args: [{{ .command | quote }}]
      ports:
        {{- range $name, $port := $v.ports }}
        - name: {{ $name }}
          containerPort: {{ $port }}
          protocol: TCP
        {{- end }}
      env:
        {{- include "meme-generator.appEnv" (dict "ctx" $ctx "command" .command) | nindent 8 }}
        {{- range $name, $port := $v.ports }}
        - name: {{ get (dict "http" "PORT" "metrics" "METRICS_PORT") $name }}
          value: {{ $port | quote }}
        {{- end }}
        {{- with .env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
        {{- with $v.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- if $v.probes.liveness.enabled }}
      livenessProbe:
        {{- include "meme-generator.probe" (dict "probe" $v.probes.liveness "path" "/healthz" "port" "metrics") | nindent 8 }}
      {{- end }}
      {{- if $v.probes.readiness.enabled }}
      readinessProbe:
        {{- include "meme-generator.probe" (dict "probe" $v.probes.readiness "path" "/readyz" "port" "metrics") | nindent 8 }}
      {{- end }}
      resources:
        {{- toYaml $v.resources | nindent 8 }}
      securityContext:
        {{- toYaml $v.containerSecurityContext | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
{{- end }}
