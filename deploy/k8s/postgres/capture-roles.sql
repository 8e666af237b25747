-- The roles and databases of change data capture (docs/data.md#capture), one source for every deployment:
-- scripts/stack runs it as the postgres superuser, the bundled PostgreSQL of compose, kustomize and the chart
-- at its first start (postgres-init.sh), an external server once by hand (deploy/README.md#the-data-path).
-- Idempotent. psql variables: monolith_db and monolith_owner (the monolith's database and its owner role),
-- cdc_password and movies_password (a role keeps the password it was created with).
\set ON_ERROR_STOP on
-- The capture role Debezium (and the parity checker, read-only) logs in as: REPLICATION for the slot.
SELECT format('CREATE ROLE cinemaabyss_cdc LOGIN REPLICATION PASSWORD %L', :'cdc_password')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cinemaabyss_cdc') \gexec
ALTER ROLE cinemaabyss_cdc LOGIN REPLICATION;
-- The movies service's own database and role, with no privilege anywhere else.
SELECT format('CREATE ROLE movies LOGIN PASSWORD %L', :'movies_password')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'movies') \gexec
SELECT 'CREATE DATABASE movies OWNER movies' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'movies') \gexec
REVOKE CONNECT ON DATABASE :"monolith_db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"monolith_db" TO :"monolith_owner", cinemaabyss_cdc;
REVOKE CONNECT ON DATABASE movies FROM PUBLIC;
GRANT CONNECT ON DATABASE movies TO movies;
