{{/* Names, labels, the settings-to-variables mapping and the checks that
stop a release with a clear message instead of deploying something broken. */}}

{{- define "reach.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "reach.fullname" -}}
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

{{- define "reach.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "reach.selectorLabels" -}}
app.kubernetes.io/name: {{ include "reach.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "reach.labels" -}}
helm.sh/chart: {{ include "reach.chart" . }}
{{ include "reach.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: reach
{{- end }}

{{- define "reach.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "reach.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "reach.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* Whether each backend is external. */}}
{{- define "reach.postgresql" -}}
{{- if or .Values.postgresql.url .Values.postgresql.existingSecret }}true{{ end }}
{{- end }}
{{- define "reach.redis" -}}
{{- if or .Values.redis.url .Values.redis.existingSecret }}true{{ end }}
{{- end }}
{{- define "reach.s3" -}}
{{- if .Values.s3.endpoint }}true{{ end }}
{{- end }}

{{/* Whether more than one pod may run at once. */}}
{{- define "reach.multiReplica" -}}
{{- if or .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1) }}true{{ end }}
{{- end }}

{{/*
reach.publicURL and reach.contentURL: the configured URL, else the one the
ingress gives, else empty (the process derives it from its listen address).
*/}}
{{- define "reach.publicURL" -}}
{{- if .Values.config.publicURL }}
{{- .Values.config.publicURL }}
{{- else if and .Values.ingress.enabled .Values.ingress.app.host }}
{{- printf "https://%s" .Values.ingress.app.host }}
{{- end }}
{{- end }}
{{- define "reach.contentURL" -}}
{{- if .Values.config.contentURL }}
{{- .Values.config.contentURL }}
{{- else if and .Values.ingress.enabled .Values.ingress.content.host }}
{{- printf "https://%s" .Values.ingress.content.host }}
{{- end }}
{{- end }}

{{/*
reach.secretRefs lists the secret settings in use as YAML: the variable,
the Secret and key that hold it, and the file name when mounted. Secrets
named in existingSecret are the operator's; the rest live in the Secret
this chart renders from inline values.
*/}}
{{- define "reach.secretRefs" -}}
{{- $own := include "reach.fullname" . }}
{{- $refs := list }}
{{- with .Values.postgresql }}
{{- if .existingSecret }}
{{- $refs = append $refs (dict "env" "REACH_DATABASE_URL" "secret" .existingSecret "key" .existingSecretKey "file" "database-url") }}
{{- else if .url }}
{{- $refs = append $refs (dict "env" "REACH_DATABASE_URL" "secret" $own "key" "database-url" "file" "database-url") }}
{{- end }}
{{- end }}
{{- with .Values.redis }}
{{- if .existingSecret }}
{{- $refs = append $refs (dict "env" "REACH_REDIS_URL" "secret" .existingSecret "key" .existingSecretKey "file" "redis-url") }}
{{- else if .url }}
{{- $refs = append $refs (dict "env" "REACH_REDIS_URL" "secret" $own "key" "redis-url" "file" "redis-url") }}
{{- end }}
{{- end }}
{{- with .Values.s3 }}
{{- if .existingSecret }}
{{- $refs = append $refs (dict "env" "REACH_S3_ACCESS_KEY" "secret" .existingSecret "key" .existingSecretAccessKeyKey "file" "s3-access-key") }}
{{- $refs = append $refs (dict "env" "REACH_S3_SECRET_KEY" "secret" .existingSecret "key" .existingSecretSecretKeyKey "file" "s3-secret-key") }}
{{- else if .accessKey }}
{{- $refs = append $refs (dict "env" "REACH_S3_ACCESS_KEY" "secret" $own "key" "s3-access-key" "file" "s3-access-key") }}
{{- $refs = append $refs (dict "env" "REACH_S3_SECRET_KEY" "secret" $own "key" "s3-secret-key" "file" "s3-secret-key") }}
{{- end }}
{{- end }}
{{- with .Values.encryption }}
{{- if .existingSecret }}
{{- $refs = append $refs (dict "env" "REACH_SECRETS_KEY" "secret" .existingSecret "key" .existingSecretKey "file" "secrets-key") }}
{{- if .existingSecretPreviousKeysKey }}
{{- $refs = append $refs (dict "env" "REACH_SECRETS_KEYS_PREVIOUS" "secret" .existingSecret "key" .existingSecretPreviousKeysKey "file" "secrets-keys-previous") }}
{{- end }}
{{- else if .key }}
{{- $refs = append $refs (dict "env" "REACH_SECRETS_KEY" "secret" $own "key" "secrets-key" "file" "secrets-key") }}
{{- if .previousKeys }}
{{- $refs = append $refs (dict "env" "REACH_SECRETS_KEYS_PREVIOUS" "secret" $own "key" "secrets-keys-previous" "file" "secrets-keys-previous") }}
{{- end }}
{{- end }}
{{- end }}
{{- toYaml $refs }}
{{- end }}

{{/* The env entries that carry the secrets, in either mode. */}}
{{- define "reach.secretEnv" -}}
{{- $mode := .ctx.Values.secrets.mode }}
{{- range .refs }}
{{- if eq $mode "file" }}
- name: {{ .env }}_FILE
  value: {{ printf "%s/%s" $.ctx.Values.secrets.mountPath .file | quote }}
{{- else }}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
{{- end }}
{{- end }}
{{- end }}

{{/* The projected volume that mounts every secret in file mode. */}}
{{- define "reach.secretVolume" -}}
- name: secrets
  projected:
    defaultMode: 0440
    sources:
{{- range .refs }}
      - secret:
          name: {{ .secret }}
          items:
            - key: {{ .key }}
              path: {{ .file }}
{{- end }}
{{- end }}

{{/* The container security context, shared by the server and the Job. */}}
{{- define "reach.containerSecurityContext" -}}
{{- toYaml .Values.securityContext }}
{{- end }}

{{/*
reach.validate stops a release whose values cannot work, naming the value
to change. values.schema.json checks types and shapes; these are the rules
that span several values.
*/}}
{{- define "reach.validate" -}}
{{- if eq .Values.image.tag "latest" }}
{{- fail "image.tag latest moves under a running release; pin a version (or image.digest)" }}
{{- end }}
{{- if include "reach.multiReplica" . }}
{{- if not (include "reach.postgresql" .) }}
{{- fail "more than one replica (replicaCount > 1 or autoscaling.enabled) needs external PostgreSQL: set postgresql.url or postgresql.existingSecret — the embedded SQLite database cannot be shared between pods" }}
{{- end }}
{{- if not (include "reach.redis" .) }}
{{- fail "more than one replica needs Redis: set redis.url or redis.existingSecret — sessions, one-time launch tokens, rate limits and cache invalidation must be shared between pods" }}
{{- end }}
{{- if not (include "reach.s3" .) }}
{{- fail "more than one replica needs S3-compatible storage: set s3.endpoint, s3.bucket and credentials — the local blob directory cannot be shared between pods" }}
{{- end }}
{{- end }}
{{- if and .Values.postgresql.url .Values.postgresql.existingSecret }}
{{- fail "set postgresql.url or postgresql.existingSecret, not both" }}
{{- end }}
{{- if and .Values.redis.url .Values.redis.existingSecret }}
{{- fail "set redis.url or redis.existingSecret, not both" }}
{{- end }}
{{- if and (or .Values.encryption.key .Values.encryption.previousKeys) .Values.encryption.existingSecret }}
{{- fail "set encryption.key/encryption.previousKeys or encryption.existingSecret, not both" }}
{{- end }}
{{- if and .Values.encryption.previousKeys (not .Values.encryption.key) }}
{{- fail "encryption.previousKeys needs encryption.key: previous keys only open, the current key seals" }}
{{- end }}
{{- with .Values.s3 }}
{{- if and (or .accessKey .secretKey) .existingSecret }}
{{- fail "set s3.accessKey/s3.secretKey or s3.existingSecret, not both" }}
{{- end }}
{{- if .endpoint }}
{{- if not .bucket }}
{{- fail "s3.bucket is required when s3.endpoint is set" }}
{{- end }}
{{- if and (not .existingSecret) (or (not .accessKey) (not .secretKey)) }}
{{- fail "s3.endpoint needs credentials: set s3.existingSecret, or both s3.accessKey and s3.secretKey" }}
{{- end }}
{{- else if or .bucket .accessKey .secretKey .existingSecret }}
{{- fail "s3.bucket or S3 credentials are set but s3.endpoint is empty; set s3.endpoint (host:port) to use S3" }}
{{- end }}
{{- end }}
{{- if .Values.ingress.enabled }}
{{- if or (not .Values.ingress.app.host) (not .Values.ingress.content.host) }}
{{- fail "ingress.enabled needs both ingress.app.host and ingress.content.host" }}
{{- end }}
{{- if eq .Values.ingress.app.host .Values.ingress.content.host }}
{{- fail "ingress.app.host and ingress.content.host must differ: uploaded content must never run on the app origin" }}
{{- end }}
{{- end }}
{{- $pub := include "reach.publicURL" . }}
{{- $con := include "reach.contentURL" . }}
{{- if and $pub $con }}
{{- $p := urlParse $pub }}
{{- $c := urlParse $con }}
{{- if and (eq $p.scheme $c.scheme) (eq $p.host $c.host) }}
{{- fail (printf "config.contentURL (%s) is the same origin as config.publicURL (%s); uploaded content must run on its own origin" $con $pub) }}
{{- end }}
{{- end }}
{{- if eq (int .Values.ports.app) (int .Values.ports.content) }}
{{- fail "ports.app and ports.content must differ" }}
{{- end }}
{{- if and .Values.persistence.enabled (include "reach.multiReplica" .) (eq .Values.persistence.accessMode "ReadWriteOnce") }}
{{- fail "persistence with accessMode ReadWriteOnce cannot serve several replicas; with PostgreSQL and S3 the data volume needs no persistence (persistence.enabled: false)" }}
{{- end }}
{{- end }}
