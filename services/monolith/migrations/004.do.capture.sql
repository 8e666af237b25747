-- Change data capture of the movie tables (issue 27, docs/data.md#capture). The monolith's code does not use
-- any of this; Debezium does. cdc_heartbeat is written by the connector's heartbeat query, so an idle
-- database still moves the replication slot and the movies service can measure its lag.
CREATE TABLE cdc_heartbeat (
  id integer PRIMARY KEY,
  beat_at timestamptz NOT NULL
);

-- The publication is made here, by the tables' owner, because the capture role may only read them
-- (publication.autocreate.mode=disabled). One per database: runs into other schemas (the tests' throw-away
-- schemas) find it present and leave it alone.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_publication WHERE pubname = 'cinemaabyss_movies') THEN
    CREATE PUBLICATION cinemaabyss_movies FOR TABLE movies, genres, movie_genres, cdc_heartbeat;
  END IF;
END
$$;
