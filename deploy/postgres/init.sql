-- Runs once, when the postgres container initialises an empty data volume
-- (/docker-entrypoint-initdb.d). Each service owns its database; the schemas come from the
-- services' TypeORM migrations, applied when they start.
CREATE DATABASE orders;
CREATE DATABASE payments;
