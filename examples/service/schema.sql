-- The service's tables (examples/service/README.md). Loaded once into an empty database;
-- seed.sql fills them.
CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL, email text NOT NULL);
CREATE TABLE posts (id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users(id),
                    title text NOT NULL, body text NOT NULL);
CREATE INDEX posts_user_id ON posts (user_id, id);
