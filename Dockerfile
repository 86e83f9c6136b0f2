# syntax=docker/dockerfile:1
#
# One image for both services (and the offline Stripe stand-in). The SERVICE build argument picks
# the service the image runs (orders | payments; docker-compose.yml builds one image for each):
#
#   docker build --build-arg SERVICE=payments -t orders-payments/payments .
#   docker run --env-file payments.env -p 3001:3001 orders-payments/payments
#
# SERVICE is also an environment variable, so `docker run -e SERVICE=orders ...` runs the other
# service from the same image. The stand-in runs with the command
# `node dist/tools/stripe-stand-in/main.js` and SERVICE=stripe-stand-in (for the health check).
# Configuration: the environment variables in .env.example; NODE_ENV is production.

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: all dependencies (the compiler among them), compiled to dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY proto ./proto
COPY libs ./libs
COPY apps ./apps
COPY tools ./tools
RUN npm run build

# ---- production dependencies only, exactly as the lockfile has them ----
FROM ${NODE_IMAGE} AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# ---- runtime: dist/, production node_modules, the .proto contracts; runs as `node` ----
# What it runs (the services, the Stripe stand-in, the migrations job) imports production
# dependencies only: test/dependencies.spec.ts checks it.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and read-only for the `node` user that runs the service.
COPY package.json ./package.json
COPY --from=dependencies /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY proto ./proto
COPY deploy/healthcheck.mjs ./deploy/healthcheck.mjs

ARG SERVICE=orders
ENV SERVICE=${SERVICE}
# The telemetry's service.version, e.g. --build-arg SERVICE_VERSION=$(git describe --always);
# empty: package.json's version.
ARG SERVICE_VERSION=
ENV SERVICE_VERSION=${SERVICE_VERSION}
# Heap limits keep each service within 300 MB of RSS under load (docs/performance.md): without
# them V8 sizes the old space from the host's memory, and the young generation up to 3 x 64 MB,
# growing both long before it needs to collect. 16 MB semi-spaces cost no measurable throughput.
# Raise the old space with the container's memory limit.
ENV NODE_OPTIONS="--max-old-space-size=192 --max-semi-space-size=16"
USER node

# orders: HTTP 3000, gRPC 50052. payments: HTTP 3001 (health, Stripe webhooks), gRPC 50051.
EXPOSE 3000 50052 3001 50051

# GET /health/live of $SERVICE on loopback (needs *_HTTP_HOST=0.0.0.0 or 127.0.0.1).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "deploy/healthcheck.mjs"]

# OpenTelemetry is preloaded with --import so its hooks instrument the application's modules; it
# exports only when OTEL_EXPORTER_OTLP_ENDPOINT (or another OTEL_* exporter setting) is set.
# `exec` makes node PID 1, so it receives SIGTERM and shuts down cleanly.
CMD ["/bin/sh", "-c", "exec node --import ./dist/libs/observability/src/register.js \"dist/apps/${SERVICE}/src/main.js\""]
