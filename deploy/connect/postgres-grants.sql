-- What the capture role reads (the snapshot, the parity checker) and writes (the connector's heartbeat query)
-- in the monolith's database. Run by the tables' owner after the monolith's migrations made them: scripts/stack,
-- compose's capture-grants. The monolith's migrations do not name the role: it is deployment configuration.
GRANT SELECT ON movies, genres, movie_genres TO cinemaabyss_cdc;
GRANT SELECT, INSERT, UPDATE ON cdc_heartbeat TO cinemaabyss_cdc;
