{{/*
Names and labels, computed in one place. Helpers that take a component are
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

{{/* The application image; the tag defaults to the chart's appVersion. */}}
{{- define "meme-generator.image" -}}
{{- $image := .Values.image }}
{{- printf "%s:%s" $image.repository (default .Chart.AppVersion $image.tag) }}
{{- end }}

{{/* An image of a dependency (nats, redis, exporters): repository:tag. */}}
{{- define "meme-generator.imageOf" -}}
{{- printf "%s:%s" .repository .tag }}
{{- end }}

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

{{- define "meme-generator.svcDomain" -}}
{{- printf "svc.%s" .Values.clusterDomain }}
{{- end }}

{{/* Client URL of NATS: the chart's own Service, or nats.external.url. */}}
{{/* Whether the tiers connect to NATS with users: the chart's NATS with auth on, or an external one with a Secret named. */}}
{{- define "meme-generator.natsAuth" -}}
{{- $a := .Values.nats.auth }}
{{- if and $a.enabled (or .Values.nats.enabled $a.existingSecret) }}true{{ end }}
{{- end }}

{{/* The Secret with the NATS users' passwords: the one named, else the one the chart generates. */}}
{{- define "meme-generator.natsUsersSecret" -}}
{{- .Values.nats.auth.existingSecret | default (printf "%s-users" (include "meme-generator.componentName" (dict "ctx" . "component" "nats"))) }}
{{- end }}

{{/* The NATS user each subcommand connects as. */}}
{{- define "meme-generator.natsUserOf" -}}
{{- get (dict "frontend" "frontend" "backend" "worker" "provision" "provisioner") . }}
{{- end }}

{{/*
The passwords the chart keeps in a Secret it generates, as JSON: the cluster's where it has them
(an upgrade keeps them), else new ones (helm template, which cannot look, makes new ones every
time). Made once per render and remembered in the root context, so the Secret and the pods'
checksum annotations see the same passwords. (dict "ctx" $ "memo" name "namespace" ns "secret" name "keys" list).
*/}}
{{- define "meme-generator.generatedPasswords" -}}
{{- $memo := get .ctx "memeGeneratorPasswords" | default dict }}
{{- if not (hasKey $memo .memo) }}
{{- $kept := (lookup "v1" "Secret" .namespace .secret).data | default dict }}
{{- $data := dict }}
{{- range .keys }}
{{- $_ := set $data . (get $kept . | default (randAlphaNum 32 | b64enc)) }}
{{- end }}
{{- $_ := set $memo .memo $data }}
{{- $_ := set .ctx "memeGeneratorPasswords" $memo }}
{{- end }}
{{- get $memo .memo | toJson }}
{{- end }}

{{/* The NATS users' passwords the chart generates: every user's, and route's for a clustered NATS. */}}
{{- define "meme-generator.natsUsersData" -}}
{{- $keys := append (keys (include "meme-generator.natsGrants" . | fromJson).users | sortAlpha) "route" }}
{{- include "meme-generator.generatedPasswords" (dict "ctx" . "memo" "nats" "namespace" (include "meme-generator.namespace" (dict "ctx" . "component" "nats")) "secret" (include "meme-generator.natsUsersSecret" .) "keys" $keys) }}
{{- end }}

{{/*
A checksum of the NATS users' passwords, for pod annotations: a pod restarts when they change (an
upgrade after a rotation). Those the chart generates, or a named Secret as the cluster holds it.
*/}}
{{- define "meme-generator.natsUsersChecksum" -}}
{{- if .Values.nats.auth.existingSecret }}
{{- $ns := include "meme-generator.namespace" (dict "ctx" . "component" "nats") }}
{{- (lookup "v1" "Secret" $ns .Values.nats.auth.existingSecret).data | default dict | toJson | sha256sum }}
{{- else }}
{{- include "meme-generator.natsUsersData" . | sha256sum }}
{{- end }}
{{- end }}

{{/* Whether the tiers give Redis a password: the chart's Redis with auth on, or an external one with a Secret named. */}}
{{- define "meme-generator.redisAuth" -}}
{{- $v := .Values.redis }}
{{- if eq $v.mode "external" }}{{ if $v.external.passwordSecret.name }}true{{ end }}
{{- else if $v.auth.enabled }}true{{ end }}
{{- end }}

{{/* The Secret and key holding Redis's password, as JSON {name, key}: external mode's, the one named, or the generated one. */}}
{{- define "meme-generator.redisAuthSecret" -}}
{{- $v := .Values.redis }}
{{- if eq $v.mode "external" }}
{{- dict "name" $v.external.passwordSecret.name "key" $v.external.passwordSecret.key | toJson }}
{{- else }}
{{- dict "name" ($v.auth.existingSecret | default (printf "%s-auth" (include "meme-generator.componentName" (dict "ctx" . "component" "redis")))) "key" "password" | toJson }}
{{- end }}
{{- end }}

{{/* Redis's password the chart generates. */}}
{{- define "meme-generator.redisAuthData" -}}
{{- include "meme-generator.generatedPasswords" (dict "ctx" . "memo" "redis" "namespace" (include "meme-generator.namespace" (dict "ctx" . "component" "redis")) "secret" (include "meme-generator.redisAuthSecret" . | fromJson).name "keys" (list "password")) }}
{{- end }}

{{/* A checksum of Redis's password, for pod annotations (see natsUsersChecksum). */}}
{{- define "meme-generator.redisAuthChecksum" -}}
{{- if or (eq .Values.redis.mode "external") .Values.redis.auth.existingSecret }}
{{- $ns := include "meme-generator.namespace" (dict "ctx" . "component" (ternary "frontend" "redis" (eq .Values.redis.mode "external"))) }}
{{- (lookup "v1" "Secret" $ns (include "meme-generator.redisAuthSecret" . | fromJson).name).data | default dict | toJson | sha256sum }}
{{- else }}
{{- include "meme-generator.redisAuthData" . | sha256sum }}
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

{{/* Proxies whose X-Forwarded-For the frontend believes: the value, else 1 behind the chart's Ingress, else none. */}}
{{- define "meme-generator.trustedProxyHops" -}}
{{- $hops := .Values.frontend.settings.trustedProxyHops }}
{{- if kindIs "invalid" $hops }}{{ ternary 1 0 .Values.frontend.ingress.enabled }}{{ else }}{{ int $hops }}{{ end }}
{{- end }}

{{- define "meme-generator.natsUrl" -}}
{{- if .Values.nats.enabled }}
{{- $c := dict "ctx" . "component" "nats" }}
{{- printf "nats://%s.%s.%s:%d" (include "meme-generator.componentName" $c) (include "meme-generator.namespace" $c) (include "meme-generator.svcDomain" .) (int .Values.nats.service.clientPort) }}
{{- else }}
{{- .Values.nats.external.url }}
{{- end }}
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

{{/* Pod-level settings every pod of ours shares. */}}
{{- define "meme-generator.podCommon" -}}
automountServiceAccountToken: false
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
A memory quantity as a whole number of bytes: 64Mi, 1.5Gi (binary), 500M (decimal) or bytes. The
program reads quantities the same way (src/shared/quantity.ts); both are held to
test/quantity-cases.json.
*/}}
{{- define "meme-generator.bytes" -}}
{{- $q := toString . }}
{{- if kindIs "float64" . }}{{ $q = printf "%.0f" . }}{{ if ne (float64 .) (floor .) }}{{ $q = toString . }}{{ end }}{{ end }}
{{- if not (regexMatch "^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$" $q) }}
{{- fail (printf "%s is not a memory quantity: use a number with Ki, Mi, Gi, Ti, k, M, G or T, such as 64Mi" $q) }}
{{- end }}
{{- $number := regexFind "^[0-9]+(\\.[0-9]+)?" $q }}
{{- $scale := get (dict "" 1 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776) (trimPrefix $number $q) }}
{{- $bytes := mulf $number $scale }}
{{- if ne $bytes (floor $bytes) }}{{ fail (printf "%s is not a whole number of bytes" $q) }}{{ end }}
{{- printf "%.0f" $bytes }}
{{- end }}

{{- define "meme-generator.hasPrometheusOperator" -}}
{{- include "meme-generator.capabilities.has" (dict "ctx" . "name" "prometheusOperator" "api" "monitoring.coreos.com/v1/ServiceMonitor") }}
{{- end }}

{{/* Labels of monitoring objects: ours plus monitoring.labels, which kube-prometheus-stack selects on. */}}
{{- define "meme-generator.monitoringLabels" -}}
{{ include "meme-generator.labels" . }}
{{- with .ctx.Values.monitoring.labels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Egress to NATS and Redis: the chart's own pods when it runs them, else any address on their ports. */}}
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

{{/*
The evaluator of the rules across values (validate.yaml); each answers as JSON or "true"/"".
valueAt: {"v": value} for a dotted path of (dict "path" p "values" v), {} where there is none.
*/}}
{{- define "meme-generator.rules.valueAt" -}}
{{- $node := .values }}
{{- $found := true }}
{{- range splitList "." .path }}
{{- if and $found (kindIs "map" $node) (hasKey $node .) }}{{ $node = index $node . }}{{ else }}{{ $found = false }}{{ end }}
{{- end }}
{{- if and $found (not (kindIs "invalid" $node)) }}{{ toJson (dict "v" $node) }}{{ else }}{}{{ end }}
{{- end }}

{{/* A rule's operand, {"path": p} or {"value": v}, as {"v": value}. */}}
{{- define "meme-generator.rules.operand" -}}
{{- if hasKey .b "path" }}{{ include "meme-generator.rules.valueAt" (dict "path" .b.path "values" .values) }}
{{- else }}{{ toJson (dict "v" .b.value) }}
{{- end }}
{{- end }}

{{/* A CPU quantity in cores: 250m, 0.5 or 2. */}}
{{- define "meme-generator.cores" -}}
{{- $q := toString . }}
{{- if regexMatch "^[0-9]+m$" $q }}{{ divf (trimSuffix "m" $q | float64) 1000 }}
{{- else if regexMatch "^[0-9]+(\\.[0-9]+)?$" $q }}{{ $q }}
{{- else }}{{ fail (printf "%s is not a CPU quantity: use cores or millicores, such as 250m, 0.5 or 2" $q) }}
{{- end }}
{{- end }}

{{/* Whether a condition of a rule holds for (dict "c" condition "values" values): "true" or "". */}}
{{- define "meme-generator.rules.holds" -}}
{{- $c := .c }}
{{- $values := .values }}
{{- if hasKey $c "any" }}
{{- $any := false }}
{{- range $c.any }}{{ if include "meme-generator.rules.holds" (dict "c" . "values" $values) }}{{ $any = true }}{{ end }}{{ end }}
{{- if $any }}true{{ end }}
{{- else }}
{{- $a := include "meme-generator.rules.valueAt" (dict "path" $c.a "values" $values) | fromJson }}
{{- if eq $c.op "set" }}
{{- if and (hasKey $a "v") (ne (toString $a.v) "") }}true{{ end }}
{{- else }}
{{- $b := include "meme-generator.rules.operand" (dict "b" $c.b "values" $values) | fromJson }}
{{- if eq $c.op "eq" }}{{ if eq (toString $a.v) (toString $b.v) }}true{{ end }}
{{- else if eq $c.op "ne" }}{{ if ne (toString $a.v) (toString $b.v) }}true{{ end }}
{{- else if not (and (hasKey $a "v") (hasKey $b "v")) }}true
{{- else }}
{{- $x := $a.v }}
{{- $y := $b.v }}
{{- if eq (toString $c.as) "cpu" }}{{ $x = include "meme-generator.cores" $x | float64 }}{{ $y = include "meme-generator.cores" $y | float64 }}
{{- else if eq (toString $c.as) "memory" }}{{ $x = include "meme-generator.bytes" $x | float64 }}{{ $y = include "meme-generator.bytes" $y | float64 }}
{{- end }}
{{- if not (and (kindIs "float64" $x) (kindIs "float64" $y)) }}true
{{- else if eq $c.op "lt" }}{{ if lt $x $y }}true{{ end }}
{{- else if eq $c.op "le" }}{{ if le $x $y }}true{{ end }}
{{- else if eq $c.op "gt" }}{{ if gt $x $y }}true{{ end }}
{{- else if eq $c.op "ge" }}{{ if ge $x $y }}true{{ end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
