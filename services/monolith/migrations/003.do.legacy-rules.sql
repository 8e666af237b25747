-- The original system's rules, which existing clients rely on (issue 11): usernames and emails are unique
-- exactly as written ("Alice" and "alice" are two users), a payment may be 0 or negative (a refund), and a
-- subscription may end the moment it starts. Safe on a database that holds data: every row that satisfied
-- the old rules satisfies these. One file runs as one transaction, so no moment goes without the indexes.

DROP INDEX users_username_key;
CREATE UNIQUE INDEX users_username_key ON users (username);
DROP INDEX users_email_key;
CREATE UNIQUE INDEX users_email_key ON users (email);

ALTER TABLE payments DROP CONSTRAINT payments_amount_check;

ALTER TABLE subscriptions
  DROP CONSTRAINT subscriptions_check,
  ADD CONSTRAINT subscriptions_end_not_before_start CHECK (end_date >= start_date);
