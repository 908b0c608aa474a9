{{/* The NATS users' and Redis's passwords: which Secret holds them, generating them, and the checksums that restart pods when they change. */}}

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
{{- get (dict "frontend" "frontend" "backend" "worker" "provision" "provisioner" "move-data" "frontend") . }}
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
