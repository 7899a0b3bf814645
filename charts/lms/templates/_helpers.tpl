{{/* Chart name, truncated to the 63 characters a DNS label allows. */}}
{{- define "molt-lms.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Resource name prefix. The orchestrator appends "-orchestrator", so the prefix keeps room for it:
release "lms" gives "lms-molt-lms" and "lms-molt-lms-orchestrator".
*/}}
{{- define "molt-lms.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "molt-lms.orchestratorFullname" -}}
{{- printf "%s-orchestrator" (include "molt-lms.fullname" .) }}
{{- end }}

{{- define "molt-lms.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels shared by every resource; call with (dict "root" $ "component" "proxy"). */}}
{{- define "molt-lms.labels" -}}
helm.sh/chart: {{ include "molt-lms.chart" .root }}
{{ include "molt-lms.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: molt-lms
{{- end }}

{{/* Labels that select a component's pods; they never change across upgrades. */}}
{{- define "molt-lms.selectorLabels" -}}
app.kubernetes.io/name: {{ include "molt-lms.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Image reference; call with (dict "root" $ "image" .Values.lms.image). */}}
{{- define "molt-lms.image" -}}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag | toString) }}
{{- end }}

{{/*
Scheme of the orchestrator API. "auto" means TLS exactly when the orchestrator has certificate
volumes, which is how the product docs configure it.
*/}}
{{- define "molt-lms.orchestratorScheme" -}}
{{- $tls := .Values.orchestrator.tls }}
{{- if eq $tls "enabled" }}https
{{- else if eq $tls "disabled" }}http
{{- else if .Values.orchestrator.sslVolumes }}https
{{- else }}http
{{- end }}
{{- end }}

{{/* URL the proxies dial for the control channel. */}}
{{- define "molt-lms.orchestratorUrl" -}}
{{- if .Values.lms.orchestratorUrl }}
{{- .Values.lms.orchestratorUrl }}
{{- else }}
{{- printf "%s://%s.%s.svc:%v" (include "molt-lms.orchestratorScheme" .) (include "molt-lms.orchestratorFullname" .) .Release.Namespace .Values.orchestrator.service.port }}
{{- end }}
{{- end }}

{{/* The Secret holding LMS_API_TOKEN: the one given, or the one the chart generates. */}}
{{- define "molt-lms.apiTokenSecretName" -}}
{{- .Values.apiToken.existingSecret | default (printf "%s-api-token" (include "molt-lms.fullname" .)) }}
{{- end }}

{{/* The LMS_API_TOKEN environment variable both components read from that Secret. */}}
{{- define "molt-lms.apiTokenEnv" -}}
- name: LMS_API_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "molt-lms.apiTokenSecretName" . }}
      key: {{ .Values.apiToken.secretKey }}
{{- end }}

{{/*
Checks the values schema cannot express. Every workload template includes it, so a bad value
stops rendering before any manifest is produced, with a message naming the value.
*/}}
{{- define "molt-lms.validate" -}}
{{- $dialects := list "postgres" "mysql" "crdb" }}
{{- $modes := list "none" "async" "sync" "strict-sync" }}
{{- range $component := list "lms" "orchestrator" }}
{{- $dialect := index $.Values $component "sourceDialect" | default "" | toString }}
{{- if not $dialect }}
{{- fail (printf "%s.sourceDialect is required: set it to postgres, mysql or crdb (the source database's dialect), the same in lms and orchestrator" $component) }}
{{- end }}
{{- if not (has $dialect $dialects) }}
{{- fail (printf "%s.sourceDialect %q is not supported: use postgres, mysql or crdb" $component $dialect) }}
{{- end }}
{{- end }}
{{- range $key := list "sourceDialect" "configSecretName" }}
{{- $a := index $.Values.lms $key | default "" | toString }}
{{- $b := index $.Values.orchestrator $key | default "" | toString }}
{{- if ne $a $b }}
{{- fail (printf "lms.%s (%q) and orchestrator.%s (%q) must be identical: values set in both lms and orchestrator must match, so set both to the same value" $key $a $key $b) }}
{{- end }}
{{- end }}
{{- if not (has (toString .Values.lms.shadowMode) $modes) }}
{{- fail (printf "lms.shadowMode %q is not supported: use none, async, sync or strict-sync" (toString .Values.lms.shadowMode)) }}
{{- end }}
{{- end }}

{{/*
The volumes and volumeMounts of a component's certificates.
Kubernetes rejects two mounts at one path, yet the product docs mount every certificate secret
at /app/certs. Mounts sharing a path therefore become one projected volume whose sources are
the mounted volumes, mounted once. Call with (dict "root" $ "component" "lms"); returns YAML
{volumes: [...], mounts: [...]} for fromYaml.
*/}}
{{- define "molt-lms.sslVolumes" -}}
{{- $component := .component }}
{{- $values := index .root.Values $component }}
{{- $volumes := $values.sslVolumes | default list }}
{{- $mounts := $values.sslVolumeMounts | default list }}
{{- $byName := dict }}
{{- range $i, $v := $volumes }}
{{- if not $v.name }}
{{- fail (printf "%s.sslVolumes[%d] has no name: give every volume a name that sslVolumeMounts can refer to" $component $i) }}
{{- end }}
{{- if has (toString $v.name) (list "tmp" "config") }}
{{- fail (printf "%s.sslVolumes[%d] is named %q, a name the chart uses itself: rename the volume" $component $i (toString $v.name)) }}
{{- end }}
{{- $_ := set $byName $v.name $v }}
{{- end }}
{{- $reserved := list "/tmp" "/app/config" }}
{{- $paths := list }}
{{- $byPath := dict }}
{{- range $i, $m := $mounts }}
{{- if not (hasKey $byName (toString $m.name)) }}
{{- fail (printf "%s.sslVolumeMounts[%d] mounts volume %q, which is not in %s.sslVolumes: add the volume or fix the name" $component $i (toString $m.name) $component) }}
{{- end }}
{{- if not $m.mountPath }}
{{- fail (printf "%s.sslVolumeMounts[%d] has no mountPath: set it, for example to /app/certs" $component $i) }}
{{- end }}
{{- if has (clean $m.mountPath) $reserved }}
{{- fail (printf "%s.sslVolumeMounts[%d] mounts at %s, which the chart uses itself: mount certificates elsewhere, for example /app/certs" $component $i $m.mountPath) }}
{{- end }}
{{- $path := clean $m.mountPath }}
{{- if not (hasKey $byPath $path) }}
{{- $paths = append $paths $path }}
{{- $_ := set $byPath $path list }}
{{- end }}
{{- $_ := set $byPath $path (append (get $byPath $path) $m) }}
{{- end }}
{{- $outVolumes := list }}
{{- $outMounts := list }}
{{- $projectedNames := dict }}
{{- $directNames := dict }}
{{- range $path := $paths }}
{{- $group := get $byPath $path }}
{{- if eq (len $group) 1 }}
{{- $_ := set $directNames (toString (first $group).name) true }}
{{- $outMounts = append $outMounts (first $group) }}
{{- else }}
{{- $sources := list }}
{{- $modes := list }}
{{- range $m := $group }}
{{- if or $m.subPath $m.subPathExpr }}
{{- fail (printf "%s.sslVolumeMounts: volume %q uses subPath at %s, which several volumes share; drop subPath or give it its own mountPath" $component (toString $m.name) $path) }}
{{- end }}
{{- $_ := set $projectedNames (toString $m.name) true }}
{{- $v := get $byName (toString $m.name) }}
{{- if $v.secret }}
{{- $src := dict "name" $v.secret.secretName }}
{{- if $v.secret.items }}{{- $_ := set $src "items" $v.secret.items }}{{- end }}
{{- if hasKey $v.secret "optional" }}{{- $_ := set $src "optional" $v.secret.optional }}{{- end }}
{{- if hasKey $v.secret "defaultMode" }}{{- $modes = append $modes $v.secret.defaultMode }}{{- end }}
{{- $sources = append $sources (dict "secret" $src) }}
{{- else if $v.configMap }}
{{- $src := omit $v.configMap "defaultMode" }}
{{- if hasKey $v.configMap "defaultMode" }}{{- $modes = append $modes $v.configMap.defaultMode }}{{- end }}
{{- $sources = append $sources (dict "configMap" $src) }}
{{- else if $v.projected }}
{{- if hasKey $v.projected "defaultMode" }}{{- $modes = append $modes $v.projected.defaultMode }}{{- end }}
{{- $sources = concat $sources ($v.projected.sources | default list) }}
{{- else if $v.downwardAPI }}
{{- $sources = append $sources (dict "downwardAPI" (omit $v.downwardAPI "defaultMode")) }}
{{- else }}
{{- fail (printf "%s.sslVolumes: volume %q shares mountPath %s with other volumes but is not a secret, configMap, projected or downwardAPI volume, so it cannot be merged: give it its own mountPath" $component (toString $m.name) $path) }}
{{- end }}
{{- end }}
{{- $modes = uniq $modes }}
{{- if gt (len $modes) 1 }}
{{- fail (printf "%s.sslVolumes mounted at %s set different defaultMode values; they share one projected volume, so set one defaultMode (or none)" $component $path) }}
{{- end }}
{{- $name := printf "ssl-%s" (adler32sum $path) }}
{{- $projected := dict "sources" $sources }}
{{- if $modes }}{{- $_ := set $projected "defaultMode" (first $modes) }}{{- end }}
{{- $outVolumes = append $outVolumes (dict "name" $name "projected" $projected) }}
{{- $outMounts = append $outMounts (dict "name" $name "mountPath" $path "readOnly" true) }}
{{- end }}
{{- end }}
{{- range $v := $volumes }}
{{- if or (hasKey $directNames $v.name) (not (hasKey $projectedNames $v.name)) }}
{{- $outVolumes = append $outVolumes $v }}
{{- end }}
{{- end }}
{{- toYaml (dict "volumes" $outVolumes "mounts" $outMounts) }}
{{- end }}
