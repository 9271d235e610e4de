{{/* Chart name. */}}
{{- define "chainwatch.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-qualified name, at most 63 characters. */}}
{{- define "chainwatch.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A chain id as a DNS label part: "evm:1" -> "evm-1". */}}
{{- define "chainwatch.chainSlug" -}}
{{- . | lower | replace ":" "-" | replace "_" "-" | replace "." "-" -}}
{{- end -}}

{{/* An environment variable name: "evm:1", "alchemy" -> CW_RPC_EVM_1_ALCHEMY. */}}
{{- define "chainwatch.envName" -}}
{{- regexReplaceAll "[^A-Z0-9_]" (upper .) "_" -}}
{{- end -}}

{{- define "chainwatch.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "chainwatch.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "chainwatch.selectorLabels" -}}
app.kubernetes.io/name: {{ include "chainwatch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "chainwatch.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "chainwatch.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "chainwatch.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Environment of processes that use the database: DATABASE_URL or its password. */}}
{{- define "chainwatch.databaseEnv" -}}
{{- if .Values.database.urlKey }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.existingSecret }}
      key: {{ .Values.database.urlKey }}
{{- else }}
- name: CW_DATABASE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.existingSecret }}
      key: {{ .Values.database.passwordKey }}
{{- end }}
{{- end -}}

{{/* Environment for Kafka properties kept in the secret. */}}
{{- define "chainwatch.kafkaEnv" -}}
{{- range $prop, $key := .Values.kafka.secretProperties }}
- name: {{ include "chainwatch.envName" (printf "CW_KAFKA_%s" $prop) }}
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.existingSecret }}
      key: {{ $key }}
{{- end }}
{{- end -}}

{{/* Common environment. */}}
{{- define "chainwatch.commonEnv" -}}
- name: CHAINWATCH_CONFIG
  value: /etc/chainwatch/chainwatch.toml
- name: CHAINWATCH_LOG_FORMAT
  value: {{ .Values.log.format | quote }}
- name: RUST_LOG
  value: {{ .Values.log.filter | quote }}
{{- with .Values.log.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ $.Values.log.otlpProtocol | default "http/protobuf" | quote }}
{{- end }}
{{- end -}}

{{/* [pool], [ingest], [consume], [status] tables: only the keys given. */}}
{{- define "chainwatch.tomlTable" -}}
{{- $name := index . 0 -}}{{- $table := index . 1 -}}
{{- if $table }}
[{{ $name }}]
{{- range $k, $v := $table }}
{{ $k }} = {{ include "chainwatch.tomlValue" $v }}
{{- end }}
{{- end }}
{{- end -}}

{{/* [kafka] table. */}}
{{- define "chainwatch.kafkaToml" -}}
[kafka]
brokers = {{ .Values.kafka.brokers | quote }}
topic_prefix = {{ .Values.kafka.topicPrefix | quote }}
partitions = {{ .Values.kafka.partitions }}
replication = {{ .Values.kafka.replication }}
group_id = {{ .Values.kafka.groupId | quote }}
dead_letter_topic = {{ .Values.kafka.deadLetterTopic | quote }}
on_poison = {{ .Values.kafka.onPoison | quote }}
{{- if or .Values.kafka.properties .Values.kafka.secretProperties }}

[kafka.properties]
{{- range $k, $v := .Values.kafka.properties }}
{{ $k | quote }} = {{ $v | toString | quote }}
{{- end }}
{{- range $prop, $key := .Values.kafka.secretProperties }}
{{ $prop | quote }} = "${ {{- include "chainwatch.envName" (printf "CW_KAFKA_%s" $prop) -}} }"
{{- end }}
{{- end }}
{{- end -}}

{{/* Pod security, volumes and mounts shared by every pod. */}}
{{- define "chainwatch.podSpecCommon" -}}
serviceAccountName: {{ include "chainwatch.serviceAccountName" . }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "chainwatch.probes" -}}
livenessProbe:
  httpGet: {path: /healthz, port: http}
  {{- toYaml .Values.probes.liveness | nindent 2 }}
readinessProbe:
  httpGet: {path: /readyz, port: http}
  {{- toYaml .Values.probes.readiness | nindent 2 }}
{{- end -}}

{{/* A TOML scalar: strings quoted, numbers as integers (YAML numbers arrive as floats). */}}
{{- define "chainwatch.tomlValue" -}}
{{- if kindIs "string" . -}}{{ . | quote }}
{{- else if kindIs "bool" . -}}{{ . }}
{{- else if kindIs "slice" . -}}[{{ range $i, $e := . }}{{ if $i }}, {{ end }}{{ $e | toString | quote }}{{ end }}]
{{- else if and (kindIs "float64" .) (ne (floor .) .) -}}{{ . }}
{{- else -}}{{ . | int64 }}
{{- end -}}
{{- end -}}

{{/* [database] table. */}}
{{- define "chainwatch.databaseToml" -}}
[database]
{{- if .Values.database.urlKey }}
url = "${DATABASE_URL}"
{{- else }}
url = "postgres://{{ .Values.database.user }}:${CW_DATABASE_PASSWORD}@{{ .Values.database.host }}:{{ .Values.database.port | int64 }}/{{ .Values.database.name }}{{ with .Values.database.params }}?{{ . }}{{ end }}"
{{- end }}
max_connections = {{ .Values.database.maxConnections | int64 }}
{{- end -}}
