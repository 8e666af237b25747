-- What the capture role may read and write in the monolith's database (docs/data.md#capture). Run by the
-- tables' owner after the monolith's migrations made them: by scripts/stack, compose's capture-grants service
-- and the connector's registration Job. Idempotent. psql variable: role (the capture role).
\set ON_ERROR_STOP on
GRANT SELECT ON movies, genres, movie_genres TO :"role";
GRANT SELECT, INSERT, UPDATE ON cdc_heartbeat TO :"role";
