{{/*
Where the queue and the cache live, and what an upgrade that moves them must carry over: the layout
each release records (layout.yaml), each tier's objects, and the data move an upgrade renders when
the recorded layout and the new one put NATS or Redis in different namespaces (move/ hooks).
*/}}

{{/* Where the tiers are, as JSON: {"nats": "ns/name" or "external", "redis": "ns/name (mode)" or "external"}. */}}
{{- define "meme-generator.layout" -}}
{{- $layout := dict "nats" "external" "redis" "external" }}
{{- if .Values.nats.enabled }}
{{- $c := dict "ctx" . "component" "nats" }}
{{- $_ := set $layout "nats" (printf "%s/%s" (include "meme-generator.namespace" $c) (include "meme-generator.componentName" $c)) }}
{{- end }}
{{- if ne .Values.redis.mode "external" }}
{{- $c := dict "ctx" . "component" "redis" }}
{{- $_ := set $layout "redis" (printf "%s/%s (%s)" (include "meme-generator.namespace" $c) (include "meme-generator.componentName" $c) .Values.redis.mode) }}
{{- end }}
{{- toJson $layout }}
{{- end }}

{{/* The API path of an object: (list apiVersion resource namespace name). */}}
{{- define "meme-generator.apiPath" -}}
{{- $api := index . 0 }}
{{- printf "/%s/%s/namespaces/%s/%s/%s" (ternary "api" "apis" (not (contains "/" $api))) $api (index . 2) (index . 1) (index . 3) }}
{{- end }}

{{/*
What a data move of a tier needs to know of it, as JSON: its client URL, the Secret and key of the
password a mover uses (NATS: the frontend user's), the request stream, its NetworkPolicy peers, and
the API paths of the objects that must stand while its data moves (objects) and of its
NetworkPolicies (policies). Monitors and the VPA are not among them: the upgrade may delete those at
once. (dict "ctx" $ "component" "nats"|"redis")
*/}}
{{- define "meme-generator.tierRecord" -}}
{{- $ctx := .ctx }}
{{- $v := $ctx.Values }}
{{- $c := dict "ctx" $ctx "component" .component }}
{{- $ns := include "meme-generator.namespace" $c }}
{{- $name := include "meme-generator.componentName" $c }}
{{- $appNs := include "meme-generator.namespace" (dict "ctx" $ctx "component" "frontend") }}
{{- $at := list }}
{{- $policies := list }}
{{- $record := dict }}
{{- if eq .component "nats" }}
{{- $at = list (list "apps/v1" "statefulsets" $ns $name) (list "v1" "services" $ns $name) (list "v1" "services" $ns (printf "%s-headless" $name)) (list "v1" "configmaps" $ns (printf "%s-config" $name)) (list "v1" "serviceaccounts" $ns $name) }}
{{- if and $v.nats.pdb.enabled (gt (int $v.nats.replicas) (int $v.nats.pdb.minAvailable)) }}
{{- $at = append $at (list "policy/v1" "poddisruptionbudgets" $ns $name) }}
{{- end }}
{{- if include "meme-generator.natsAuth" $ctx }}
{{- $secret := include "meme-generator.natsUsersSecret" $ctx }}
{{- if not $v.nats.auth.existingSecret }}
{{- range (list $ns $appNs | uniq) }}{{ $at = append $at (list "v1" "secrets" . $secret) }}{{ end }}
{{- end }}
{{- $_ := set $record "secret" (dict "namespace" $ns "name" $secret "key" "frontend") }}
{{- end }}
{{- $_ := set $record "url" (include "meme-generator.natsUrl" $ctx) }}
{{- $_ := set $record "stream" $v.queue.stream }}
{{- $_ := set $record "peers" (include "meme-generator.np.peer" (dict "namespace" $ns "c" $c) | fromYamlArray) }}
{{- else }}
{{- if eq $v.redis.mode "standalone" }}
{{- $at = list (list "apps/v1" "statefulsets" $ns $name) (list "v1" "services" $ns $name) (list "v1" "serviceaccounts" $ns $name) }}
{{- else }}
{{- $at = list (list "redis.redis.opstreelabs.in/v1beta2" "redis" $ns $name) }}
{{- end }}
{{- $at = append $at (list "v1" "configmaps" $ns (printf "%s-config" $name)) }}
{{- if include "meme-generator.redisAuth" $ctx }}
{{- $secret := (include "meme-generator.redisAuthSecret" $ctx | fromJson).name }}
{{- if not $v.redis.auth.existingSecret }}
{{- range (list $ns $appNs | uniq) }}{{ $at = append $at (list "v1" "secrets" . $secret) }}{{ end }}
{{- end }}
{{- $_ := set $record "secret" (dict "namespace" $ns "name" $secret "key" "password") }}
{{- end }}
{{- $_ := set $record "url" (include "meme-generator.redisUrl" $ctx) }}
{{- $_ := set $record "peers" (include "meme-generator.np.redisPeer" $ctx | fromYamlArray) }}
{{- end }}
{{- if $v.networkPolicy.enabled }}
{{- $policy := list "networking.k8s.io/v1" "networkpolicies" $ns $name }}
{{- $at = append $at $policy }}
{{- $policies = append $policies (include "meme-generator.apiPath" $policy) }}
{{- end }}
{{- $objects := list }}
{{- range $at }}{{ $objects = append $objects (include "meme-generator.apiPath" .) }}{{ end }}
{{- $_ := set $record "objects" $objects }}
{{- /* A namespace of the chart's own that Helm deletes with the release: it goes with an upgrade that no longer makes it. */}}
{{- $created := and $v.namespaces.create.enabled (ne $ns $ctx.Release.Namespace) (not $v.namespaces.create.keepOnUninstall) }}
{{- $_ := set $record "namespaceGoes" $created }}
{{- $_ := set $record "policies" $policies }}
{{- toJson $record }}
{{- end }}

{{/*
The data move this upgrade makes, as JSON, worked out once per render: for each tier the recorded
layout puts in another namespace than the new one does, or whose move an earlier upgrade began and
its Job has not ended (pendingMove), the old tier's record (records) and with its password (tiers;
base64, from the cluster); the old objects to keep and then delete (none the new release has too);
their NetworkPolicies; the namespace whose pods may still use an old tier (the old app namespace). A move the chart cannot
carry over (to or from an external tier, another name or Redis mode in the same namespace, out of a
namespace the chart made and would now delete, a release recorded before records existed, or
upgrade.moveData off) is listed under refused. An install, and
`helm template`, which cannot look, move nothing.
*/}}
{{- define "meme-generator.dataMove" -}}
{{- if not (hasKey . "memeGeneratorMove") }}
{{- $tiers := dict }}
{{- $records := dict }}
{{- $objects := list }}
{{- $policies := list }}
{{- $refused := list }}
{{- $namespaces := list }}
{{- if .Release.IsUpgrade }}
{{- $recorded := (lookup "v1" "ConfigMap" .Release.Namespace (printf "%s-layout" (include "meme-generator.fullname" .))).data | default dict }}
{{- $layout := include "meme-generator.layout" . | fromJson }}
{{- range $tier, $label := dict "nats" "NATS" "redis" "Redis" }}
{{- $was := get $recorded $tier }}
{{- $now := get $layout $tier }}
{{- if and $was (ne $was "external") (ne $was $now) }}
{{- $record := get $recorded (printf "%sRecord" $tier) }}
{{- $wasNs := first (splitList "/" $was) }}
{{- $otherNamespace := ne $wasNs (first (splitList "/" $now)) }}
{{- $old := $record | default "{}" | fromJson }}
{{- /* The old tier's namespace must outlive the upgrade: one the chart made and no longer makes would go, with it. */}}
{{- $stays := or (not $old.namespaceGoes) (and $.Values.namespaces.create.enabled (has $wasNs (list $.Values.namespaces.app $.Values.namespaces.messaging $.Values.namespaces.cache))) }}
{{- if and $.Values.upgrade.moveData $record (ne $now "external") $otherNamespace $stays }}
{{- $_ := set $records $tier $old }}
{{- else }}
{{- $refused = append $refused (printf "%s from %s to %s" $label $was $now) }}
{{- end }}
{{- end }}
{{- end }}
{{- /* A move an earlier upgrade began and whose Job has not ended it (it failed, or never ran): again. */}}
{{- if $.Values.upgrade.moveData }}
{{- range $tier, $old := (get $recorded "pendingMove" | default "{}" | fromJson) }}
{{- if and (not (hasKey $records $tier)) (ne $old.url (get (include "meme-generator.tierRecord" (dict "ctx" $ "component" $tier) | fromJson) "url")) }}
{{- $_ := set $records $tier $old }}
{{- end }}
{{- end }}
{{- end }}
{{- range $tier, $old := $records }}
{{- $password := "" }}
{{- with $old.secret }}
{{- $password = get ((lookup "v1" "Secret" .namespace .name).data | default dict) .key }}
{{- end }}
{{- $_ := set $tiers $tier (merge (dict "password" $password) $old) }}
{{- $objects = concat $objects $old.objects }}
{{- $policies = concat $policies $old.policies }}
{{- end }}
{{- if $tiers }}
{{- $new := list }}
{{- if .Values.nats.enabled }}{{ $new = concat $new (include "meme-generator.tierRecord" (dict "ctx" $ "component" "nats") | fromJson).objects }}{{ end }}
{{- if ne .Values.redis.mode "external" }}{{ $new = concat $new (include "meme-generator.tierRecord" (dict "ctx" $ "component" "redis") | fromJson).objects }}{{ end }}
{{- $kept := list }}
{{- range ($objects | uniq) }}{{ if not (has . $new) }}{{ $kept = append $kept . }}{{ end }}{{ end }}
{{- $objects = $kept }}
{{- $kept = list }}
{{- range ($policies | uniq) }}{{ if not (has . $new) }}{{ $kept = append $kept . }}{{ end }}{{ end }}
{{- $policies = $kept }}
{{- /* The old revision's pods, the only ones that use the old tiers, run in the recorded app namespace. */}}
{{- $namespaces = list (get $recorded "app" | default .Release.Namespace) }}
{{- end }}
{{- end }}
{{- $_ := set . "memeGeneratorMove" (dict "tiers" $tiers "records" $records "objects" $objects "policies" $policies "refused" $refused "namespaces" $namespaces) }}
{{- end }}
{{- get . "memeGeneratorMove" | toJson }}
{{- end }}
