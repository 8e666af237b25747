#!/bin/sh
# /docker-entrypoint-initdb.d hook of the postgres image (compose and the bundled StatefulSets): on the first
# start of an empty data directory, creates the capture and movies roles and the movies database from
# capture-roles.sql, mounted outside that directory (the image would run a .sql file there without the
# variables). Mounted executable. POSTGRES_USER is the image's superuser and the monolith's owner.
set -eu
: "${CDC_DB_PASSWORD:?CDC_DB_PASSWORD is not set (the capture role's password)}"
: "${MOVIES_DB_PASSWORD:?MOVIES_DB_PASSWORD is not set (the movies role's password)}"
psql --username "$POSTGRES_USER" --dbname postgres --quiet --no-psqlrc \
  -v monolith_db="$POSTGRES_DB" -v monolith_owner="$POSTGRES_USER" \
  -v cdc_password="$CDC_DB_PASSWORD" -v movies_password="$MOVIES_DB_PASSWORD" \
  -f "${CAPTURE_ROLES_SQL:-/etc/cinemaabyss/postgres/capture-roles.sql}"
