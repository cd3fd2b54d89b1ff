# syntax=docker/dockerfile:1
# runsync's production image, for deployments on a ClickHouse server (CLICKHOUSE_URL) and a
# Temporal cluster (TEMPORAL_ADDRESS): production dependencies only, without the embedded
# ClickHouse engine (chDB, ~540 MB), workflow code bundled at build time, a non-root user.
# CI installs with the same command (npm ci).

FROM node:20.19.5-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# The same checks CI runs first, then the workflow bundle the workers load.
RUN npm run typecheck \
 && node --import tsx scripts/bundle-workflows.ts build/workflow-bundle.js

FROM node:20.19.5-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; chDB (an optional dependency, used only in embedded mode) is
# removed: this image talks to a ClickHouse server.
RUN npm ci --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/chdb node_modules/@chdb \
 && npm cache clean --force

FROM node:20.19.5-bookworm-slim
ENV NODE_ENV=production \
    RUNSYNC_WORKFLOW_BUNDLE=/app/build/workflow-bundle.js \
    RUNSYNC_DATA_DIR=/data \
    RUNSYNC_METRICS_PORT=9464
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/build ./build
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY activities ./activities
COPY cli ./cli
COPY config ./config
COPY core ./core
COPY deploy/healthcheck.mjs ./deploy/healthcheck.mjs
COPY http ./http
COPY providers ./providers
COPY report ./report
COPY runtime ./runtime
COPY schema ./schema
COPY server ./server
COPY simulators ./simulators
COPY sync ./sync
COPY warehouse ./warehouse
COPY workflows ./workflows
COPY worker.ts ./
# The image's user (uid 1000, from the node base image) owns only its data directory.
RUN mkdir -p /data && chown 1000:1000 /data
USER 1000:1000
EXPOSE 8124 9464
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=4 CMD ["node", "deploy/healthcheck.mjs"]
ENTRYPOINT ["node", "bin/runsync.js"]
CMD ["worker", "--schedules"]
