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
