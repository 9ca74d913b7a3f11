-- The service's data, the same on every run (examples/service/README.md): users 1..10000,
-- user 7 with a name that needs escaping, user 8 with a mixed-case e-mail, and id % 4 posts
-- per user. It empties both tables and restarts the post ids first, so running it again
-- resets the database: the first post inserted afterwards gets id 15001.
BEGIN;
TRUNCATE posts, users RESTART IDENTITY;
INSERT INTO users (id, name, email)
SELECT id,
       CASE WHEN id = 7 THEN E'Zo\u00EB "Z" O''Brien\t' ELSE 'User ' || id END,
       CASE WHEN id = 8 THEN 'MiXeD@Example.COM' ELSE 'user' || id || '@example.com' END
FROM generate_series(1, 10000) AS id;
INSERT INTO posts (user_id, title, body)
SELECT u.id, 'Post ' || k || ' of ' || u.id, 'Body ' || k
FROM generate_series(1, 10000) AS u(id), generate_series(1, 3) AS k
WHERE k <= u.id % 4
ORDER BY u.id, k;
COMMIT;
