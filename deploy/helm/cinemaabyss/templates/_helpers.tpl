{{/* Prefix of every object name. */}}
{{- define "cinemaabyss.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* The four services: port and probe paths, as in deploy/services.json (tests/deploy checks the rendering).
     movies-sync: the movies image's other entry (values: moviesSync), on its config's default port. */}}
{{- define "cinemaabyss.services" -}}
monolith: {port: 8080, liveness: /health, readiness: /ready, component: legacy-backend}
movies: {port: 8081, liveness: /api/movies/health, readiness: /api/movies/ready, component: backend}
movies-sync: {port: 8084, liveness: /health, readiness: /ready, component: data-sync, values: moviesSync, image: movies, command: [node, dist/sync/server.js]}
events: {port: 8082, liveness: /api/events/health, readiness: /api/events/ready, component: backend}
gateway: {port: 8000, liveness: /health, readiness: /ready, component: gateway}
{{- end -}}

{{/* Selector labels; call with (dict "root" $ "name" "<component name>"). */}}
{{- define "cinemaabyss.selectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* Full label set, the same keys as deploy/k8s; call with (dict "root" $ "name" ... "component" ...). */}}
{{- define "cinemaabyss.labels" -}}
{{ include "cinemaabyss.selectorLabels" . }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: cinemaabyss
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{/* Image of one service; call with (dict "root" $ "name" ...). */}}
{{- define "cinemaabyss.image" -}}
{{- $values := index .root.Values .name -}}
{{- $repository := $values.image.repository | default (printf "%s/%s" .root.Values.image.registry .name) -}}
{{- $tag := $values.image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s:%s" $repository $tag -}}
{{- end -}}

{{- define "cinemaabyss.dbSecret" -}}
{{- if .Values.postgresql.enabled -}}
{{- .Values.postgresql.existingSecret | default (printf "%s-db" (include "cinemaabyss.fullname" .)) -}}
{{- else -}}
{{- required "externalPostgresql.existingSecret is required when postgresql.enabled is false" .Values.externalPostgresql.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "cinemaabyss.adminSecret" -}}
{{- .Values.gateway.admin.existingSecret | default (printf "%s-admin" (include "cinemaabyss.fullname" .)) -}}
{{- end -}}

{{/* postgres:// URL with $(POSTGRES_PASSWORD), which Kubernetes expands from the variable set before it. */}}
{{- define "cinemaabyss.databaseUrl" -}}
{{- if .Values.postgresql.enabled -}}
{{- printf "postgres://%s:$(POSTGRES_PASSWORD)@%s-postgres:5432/%s" .Values.postgresql.username (include "cinemaabyss.fullname" .) .Values.postgresql.database -}}
{{- else -}}
{{- $host := required "externalPostgresql.host is required when postgresql.enabled is false" .Values.externalPostgresql.host -}}
{{- printf "postgres://%s:$(POSTGRES_PASSWORD)@%s:%v/%s" .Values.externalPostgresql.username $host .Values.externalPostgresql.port .Values.externalPostgresql.database -}}
{{- end -}}
{{- end -}}

{{/* The movies service's own database on the same server, with $(MOVIES_DB_PASSWORD) (docs/data.md). */}}
{{- define "cinemaabyss.moviesDatabaseUrl" -}}
{{- printf "postgres://movies:$(MOVIES_DB_PASSWORD)@%s:%v/movies" (include "cinemaabyss.postgresHost" .) (include "cinemaabyss.postgresPort" .) -}}
{{- end -}}

{{- define "cinemaabyss.postgresHost" -}}
{{- if .Values.postgresql.enabled -}}
{{- printf "%s-postgres" (include "cinemaabyss.fullname" .) -}}
{{- else -}}
{{- required "externalPostgresql.host is required when postgresql.enabled is false" .Values.externalPostgresql.host -}}
{{- end -}}
{{- end -}}

{{- define "cinemaabyss.postgresPort" -}}
{{- ternary 5432 .Values.externalPostgresql.port .Values.postgresql.enabled -}}
{{- end -}}

{{/* The monolith's database and its owner role, bundled or external. */}}
{{- define "cinemaabyss.postgresDatabase" -}}
{{- ternary .Values.postgresql.database .Values.externalPostgresql.database .Values.postgresql.enabled -}}
{{- end -}}
{{- define "cinemaabyss.postgresUsername" -}}
{{- ternary .Values.postgresql.username .Values.externalPostgresql.username .Values.postgresql.enabled -}}
{{- end -}}

{{- define "cinemaabyss.redisUrl" -}}
{{- if .Values.redis.enabled -}}
{{- printf "redis://%s-redis:6379" (include "cinemaabyss.fullname" .) -}}
{{- else -}}
{{- required "externalRedis.url is required when redis.enabled is false" .Values.externalRedis.url -}}
{{- end -}}
{{- end -}}

{{/* Kafka Connect's REST port: deploy/connect/worker.json's "port" (tests/deploy checks they agree). */}}
{{- define "cinemaabyss.connectPort" -}}8083{{- end -}}

{{/* Kafka Connect's REST API: the bundled worker's Service, or externalConnect.url. */}}
{{- define "cinemaabyss.connectUrl" -}}
{{- if .Values.connect.enabled -}}
{{- printf "http://%s-connect:%s" (include "cinemaabyss.fullname" .) (include "cinemaabyss.connectPort" .) -}}
{{- else -}}
{{- required "externalConnect.url is required when connect.enabled is false and moviesSync.enabled is true" .Values.externalConnect.url -}}
{{- end -}}
{{- end -}}

{{/* The monolith's database as the capture role, with $(CDC_DB_PASSWORD) (the parity checker reads it). */}}
{{- define "cinemaabyss.sourceDatabaseUrl" -}}
{{- printf "postgres://cinemaabyss_cdc:$(CDC_DB_PASSWORD)@%s:%v/%s" (include "cinemaabyss.postgresHost" .) (include "cinemaabyss.postgresPort" .) (include "cinemaabyss.postgresDatabase" .) -}}
{{- end -}}

{{- define "cinemaabyss.kafkaBrokers" -}}
{{- if .Values.kafka.enabled -}}
{{- printf "%s-kafka:9092" (include "cinemaabyss.fullname" .) -}}
{{- else -}}
{{- required "externalKafka.brokers is required when kafka.enabled is false" .Values.externalKafka.brokers -}}
{{- end -}}
{{- end -}}

{{- define "cinemaabyss.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "cinemaabyss.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* Environment of each service beyond its ConfigMap: secrets only. */}}
{{- define "cinemaabyss.secretEnv" -}}
{{- $root := .root -}}
{{- if eq .name "monolith" }}
- name: POSTGRES_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "cinemaabyss.dbSecret" $root }}
      key: POSTGRES_PASSWORD
- name: DATABASE_URL
  value: {{ include "cinemaabyss.databaseUrl" $root | quote }}
{{- end }}
{{- if has .name (list "movies" "movies-sync") }}
- name: MOVIES_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "cinemaabyss.dbSecret" $root }}
      key: MOVIES_DB_PASSWORD
# Its own database (docs/data.md), never the monolith's.
- name: DATABASE_URL
  value: {{ include "cinemaabyss.moviesDatabaseUrl" $root | quote }}
{{- end }}
{{- if eq .name "movies-sync" }}
# The parity checker reads the monolith's database as the capture role (SELECT on the movie tables only).
- name: CDC_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "cinemaabyss.dbSecret" $root }}
      key: CDC_DB_PASSWORD
- name: SOURCE_DATABASE_URL
  value: {{ include "cinemaabyss.sourceDatabaseUrl" $root | quote }}
{{- end }}
{{- if and (eq .name "gateway") $root.Values.gateway.admin.enabled }}
- name: ADMIN_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "cinemaabyss.adminSecret" $root }}
      key: ADMIN_TOKEN
{{- end }}
{{- end -}}
