-- Seed data so a fresh system answers with content. Idempotent (keyed on natural keys), so running it
-- again after a manual reset of the version table adds nothing twice.

INSERT INTO users (username, email) VALUES
  ('john_doe', 'john.doe@example.com'),
  ('jane_smith', 'jane.smith@example.com'),
  ('alice_johnson', 'alice.johnson@example.com'),
  ('bob_williams', 'bob.williams@example.com'),
  ('carol_davis', 'carol.davis@example.com')
ON CONFLICT DO NOTHING;

CREATE TEMPORARY TABLE seed_movies (title text, description text, rating double precision, genres text[])
  ON COMMIT DROP;
INSERT INTO seed_movies VALUES
  ('The Shawshank Redemption',
   'Two imprisoned men bond over a number of years, finding solace and eventual redemption through acts of common decency.',
   9.3, ARRAY['Drama']),
  ('The Godfather',
   'The aging patriarch of an organized crime dynasty transfers control of his clandestine empire to his reluctant son.',
   9.2, ARRAY['Crime', 'Drama']),
  ('The Dark Knight',
   'When the menace known as the Joker wreaks havoc on Gotham, Batman must accept one of the greatest tests of his ability to fight injustice.',
   9.0, ARRAY['Action', 'Crime', 'Drama']),
  ('Pulp Fiction',
   'The lives of two mob hitmen, a boxer, a gangster and his wife intertwine in four tales of violence and redemption.',
   8.9, ARRAY['Crime', 'Drama']),
  ('Inception',
   'A thief who steals corporate secrets through the use of dream-sharing technology is given the inverse task of planting an idea into the mind of a C.E.O.',
   8.8, ARRAY['Sci-Fi', 'Action', 'Thriller']),
  ('The Matrix',
   'A computer hacker learns about the true nature of his reality and his role in the war against its controllers.',
   8.7, ARRAY['Sci-Fi', 'Action']),
  ('Interstellar',
   'A team of explorers travel through a wormhole in space in an attempt to ensure humanity''s survival.',
   8.7, ARRAY['Sci-Fi', 'Adventure', 'Drama']),
  ('Spirited Away',
   'During her family''s move to the suburbs, a sullen 10-year-old girl wanders into a world ruled by gods, witches and spirits.',
   8.6, ARRAY['Animation', 'Fantasy', 'Family']);

INSERT INTO movies (title, description, rating)
SELECT s.title, s.description, s.rating
  FROM seed_movies s
 WHERE NOT EXISTS (SELECT 1 FROM movies m WHERE m.title = s.title);

INSERT INTO genres (name)
SELECT DISTINCT unnest(genres) FROM seed_movies
ON CONFLICT (name) DO NOTHING;

INSERT INTO movie_genres (movie_id, genre_id, position)
SELECT m.id, g.id, given.position
  FROM seed_movies s
  JOIN LATERAL (SELECT min(id) AS id FROM movies WHERE title = s.title) m ON true
  CROSS JOIN LATERAL unnest(s.genres) WITH ORDINALITY AS given(name, position)
  JOIN genres g ON g.name = given.name
ON CONFLICT DO NOTHING;

INSERT INTO payments (user_id, amount, paid_at)
SELECT u.id, p.amount, p.paid_at
  FROM (VALUES
    ('john_doe', 9.99, timestamptz '2023-01-15T14:30:00Z'),
    ('john_doe', 9.99, timestamptz '2023-02-15T14:30:00Z'),
    ('jane_smith', 14.99, timestamptz '2023-01-20T09:00:00Z'),
    ('alice_johnson', 4.99, timestamptz '2023-03-01T18:45:00Z'),
    ('bob_williams', 14.99, timestamptz '2023-03-05T12:00:00Z')
  ) AS p(username, amount, paid_at)
  JOIN users u ON u.username = p.username
 WHERE NOT EXISTS (SELECT 1 FROM payments x WHERE x.user_id = u.id AND x.paid_at = p.paid_at);

INSERT INTO subscriptions (user_id, plan_type, start_date, end_date)
SELECT u.id, s.plan_type, s.start_date, s.end_date
  FROM (VALUES
    ('john_doe', 'basic', timestamptz '2023-01-01T00:00:00Z', timestamptz '2023-12-31T23:59:59Z'),
    ('jane_smith', 'premium', timestamptz '2023-01-01T00:00:00Z', timestamptz '2023-12-31T23:59:59Z'),
    ('alice_johnson', 'basic', timestamptz '2023-03-01T00:00:00Z', timestamptz '2024-02-29T23:59:59Z'),
    ('bob_williams', 'family', timestamptz '2023-03-05T00:00:00Z', timestamptz '2024-03-04T23:59:59Z')
  ) AS s(username, plan_type, start_date, end_date)
  JOIN users u ON u.username = s.username
 WHERE NOT EXISTS (
   SELECT 1 FROM subscriptions x WHERE x.user_id = u.id AND x.plan_type = s.plan_type AND x.start_date = s.start_date
 );
