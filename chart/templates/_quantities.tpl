{{/* Kubernetes quantities as numbers, read as the program reads them. */}}

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

{{/* A CPU quantity in cores: 250m, 0.5 or 2. */}}
{{- define "meme-generator.cores" -}}
{{- $q := toString . }}
{{- if regexMatch "^[0-9]+m$" $q }}{{ divf (trimSuffix "m" $q | float64) 1000 }}
{{- else if regexMatch "^[0-9]+(\\.[0-9]+)?$" $q }}{{ $q }}
{{- else }}{{ fail (printf "%s is not a CPU quantity: use cores or millicores, such as 250m, 0.5 or 2" $q) }}
{{- end }}
{{- end }}
