-- Runs once, when the postgres pod initialises an empty volume (/docker-entrypoint-initdb.d).
-- Each service owns its database; the schemas come from the migration Jobs. The statements are
-- deploy/postgres/init.sql's (compose), which test/k8s-manifests.spec.ts checks.
CREATE DATABASE orders;
CREATE DATABASE payments;
