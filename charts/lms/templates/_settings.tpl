{{/*
Process settings of shared/CONFIGURATION.md that are plain chart values. Each row is
value name, setting key (environment variable) and command-line flag; the value name is the key
without LMS_ (ORCH_ALLOW_ORIGIN: allowOrigin), in camelCase. A value left unset (null, "" or []) renders no variable, so the
process default, or the key in config.json, applies unchanged.
*/}}
{{- define "molt-lms.settingsTable" -}}
lms:
  - {value: maxMessageSize, key: LMS_MAX_MESSAGE_SIZE, flag: max-message-size}
  - {value: maxPause, key: LMS_MAX_PAUSE, flag: max-pause}
  - {value: shadowQueue, key: LMS_SHADOW_QUEUE, flag: shadow-queue}
  - {value: shadowRowLimit, key: LMS_SHADOW_ROW_LIMIT, flag: shadow-row-limit}
  - {value: shadowVolatile, key: LMS_SHADOW_VOLATILE, flag: shadow-volatile}
  - {value: redactQueries, key: LMS_REDACT_QUERIES, flag: redact-queries}
  - {value: authQuery, key: LMS_AUTH_QUERY, flag: auth-query}
  - {value: clientAuth, key: LMS_CLIENT_AUTH, flag: client-auth}
  - {value: allowCleartextWithoutTls, key: LMS_ALLOW_CLEARTEXT_WITHOUT_TLS, flag: allow-cleartext-without-tls}
  - {value: mysqlAccountsRefresh, key: LMS_MYSQL_ACCOUNTS_REFRESH, flag: mysql-accounts-refresh}
  - {value: mysqlRsaKey, key: LMS_MYSQL_RSA_KEY, flag: mysql-rsa-key}
  - {value: mysqlTargetUsers, key: LMS_MYSQL_TARGET_USERS, flag: mysql-target-users}
  - {value: maxConnections, key: LMS_MAX_CONNECTIONS, flag: max-connections}
  - {value: authFailureLimit, key: LMS_AUTH_FAILURE_LIMIT, flag: auth-failure-limit}
  - {value: authFailureWindow, key: LMS_AUTH_FAILURE_WINDOW, flag: auth-failure-window}
  - {value: maxHeldBytes, key: LMS_MAX_HELD_BYTES, flag: max-held-bytes}
  - {value: maxHeldClients, key: LMS_MAX_HELD_CLIENTS, flag: max-held-clients}
orchestrator:
  - {value: id, key: LMS_PROXY_ID, flag: proxy-id}
  - {value: redactQueries, key: LMS_REDACT_QUERIES, flag: redact-queries}
  - {value: dashboardAllowActions, key: LMS_DASHBOARD_ALLOW_ACTIONS, flag: dashboard-allow-actions}
  - {value: allowOrigin, key: ORCH_ALLOW_ORIGIN, flag: allow-origin}
  - {value: missingProxyGrace, key: LMS_MISSING_PROXY_GRACE, flag: missing-proxy-grace}
{{- end }}

{{/*
The environment variables of a component's settings values, as a YAML list of EnvVars (empty
when none is set); call with (dict "root" $ "component" "lms"). Rendering fails when extraEnv or
extraArgs sets the same setting too, since one of the two would be silently ignored.
*/}}
{{- define "molt-lms.settingsEnv" -}}
{{- $component := .component }}
{{- $values := index .root.Values $component }}
{{- $extraEnv := list }}
{{- range $values.extraEnv }}{{- $extraEnv = append $extraEnv (toString .name) }}{{- end }}
{{- $env := list }}
{{- range $s := index (include "molt-lms.settingsTable" . | fromYaml) $component }}
{{- $v := index $values $s.value }}
{{- $text := "" }}
{{- if kindIs "slice" $v }}
{{- range $i, $p := $v }}
{{- if contains "," (toString $p) }}
{{- fail (printf "%s.%s[%d] contains a comma, which %s uses to separate expressions: write \\x2c for a literal comma" $component $s.value $i $s.key) }}
{{- end }}
{{- end }}
{{- $text = join "," $v }}
{{- else if kindIs "bool" $v }}
{{- $text = ternary "true" "false" $v }}
{{- else if or (kindIs "float64" $v) (kindIs "int" $v) (kindIs "int64" $v) }}
{{- $text = printf "%d" (int64 $v) }}
{{- else if not (kindIs "invalid" $v) }}
{{- $text = toString $v }}
{{- end }}
{{- if ne $text "" }}
{{- if has $s.key $extraEnv }}
{{- fail (printf "%s.%s and %s.extraEnv both set %s: keep one of them" $component $s.value $component $s.key) }}
{{- end }}
{{- range $values.extraArgs }}
{{- if or (eq (toString .) (printf "--%s" $s.flag)) (hasPrefix (printf "--%s=" $s.flag) (toString .)) }}
{{- fail (printf "%s.%s is set and %s.extraArgs passes --%s too, which would win: keep one of them" $component $s.value $component $s.flag) }}
{{- end }}
{{- end }}
{{- $env = append $env (dict "name" $s.key "value" $text) }}
{{- end }}
{{- end }}
{{- if $env }}
{{- toYaml $env }}
{{- end }}
{{- end }}
