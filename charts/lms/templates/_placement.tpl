{{/* Name of the ServiceAccount both Deployments run as. */}}
{{- define "molt-lms.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "molt-lms.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The proxies' affinity: lms.affinity as given, plus the lms.podAntiAffinity preset unless
lms.affinity sets podAntiAffinity itself. "soft" prefers one proxy per lms.podAntiAffinityTopologyKey
domain, "hard" requires it, "none" adds nothing. Returns YAML (empty for no affinity).
*/}}
{{- define "molt-lms.proxyAffinity" -}}
{{- $values := .Values.lms }}
{{- $affinity := deepCopy ($values.affinity | default dict) }}
{{- $preset := toString $values.podAntiAffinity }}
{{- if and (ne $preset "none") (not (hasKey $affinity "podAntiAffinity")) }}
{{- $term := dict "topologyKey" $values.podAntiAffinityTopologyKey "labelSelector" (dict "matchLabels" (include "molt-lms.selectorLabels" (dict "root" . "component" "proxy") | fromYaml)) }}
{{- if eq $preset "hard" }}
{{- $_ := set $affinity "podAntiAffinity" (dict "requiredDuringSchedulingIgnoredDuringExecution" (list $term)) }}
{{- else if eq $preset "soft" }}
{{- $_ := set $affinity "podAntiAffinity" (dict "preferredDuringSchedulingIgnoredDuringExecution" (list (dict "weight" 100 "podAffinityTerm" $term))) }}
{{- else }}
{{- fail (printf "lms.podAntiAffinity %q is not supported: use soft, hard or none" $preset) }}
{{- end }}
{{- end }}
{{- if $affinity }}
{{- toYaml $affinity }}
{{- end }}
{{- end }}

{{/*
The proxies' topology spread constraints, each given the proxies' selector as labelSelector
when it has none, so a constraint counts exactly this release's proxies.
*/}}
{{- define "molt-lms.proxyTopologySpread" -}}
{{- $out := list }}
{{- $selector := dict "matchLabels" (include "molt-lms.selectorLabels" (dict "root" . "component" "proxy") | fromYaml) }}
{{- range $c := .Values.lms.topologySpreadConstraints }}
{{- $c = deepCopy $c }}
{{- if not (hasKey $c "labelSelector") }}
{{- $_ := set $c "labelSelector" $selector }}
{{- end }}
{{- $out = append $out $c }}
{{- end }}
{{- if $out }}
{{- toYaml $out }}
{{- end }}
{{- end }}
