-- Change data capture's roles and the movies service's own database (docs/data.md#capture), run by a
-- superuser: scripts/stack (as postgres), compose's first start (/docker-entrypoint-initdb.d). Idempotent.
-- Passwords are the local-development ones; other deployments make these roles with their own secrets.
SELECT 'CREATE ROLE cinemaabyss_cdc LOGIN REPLICATION PASSWORD ''cinemaabyss_cdc'''
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cinemaabyss_cdc') \gexec
ALTER ROLE cinemaabyss_cdc LOGIN REPLICATION;
SELECT 'CREATE ROLE movies LOGIN PASSWORD ''movies'''
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'movies') \gexec
SELECT 'CREATE DATABASE movies OWNER movies'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'movies') \gexec
-- Only the monolith's owner and the capture role reach the monolith's database; only movies reaches its own.
REVOKE CONNECT ON DATABASE cinemaabyss FROM PUBLIC;
GRANT CONNECT ON DATABASE cinemaabyss TO cinemaabyss, cinemaabyss_cdc;
REVOKE CONNECT ON DATABASE movies FROM PUBLIC;
GRANT CONNECT ON DATABASE movies TO movies;
