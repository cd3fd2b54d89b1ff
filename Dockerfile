# syntax=docker/dockerfile:1
# runsync's production image, for deployments on a ClickHouse server (CLICKHOUSE_URL) and a
# Temporal cluster (TEMPORAL_ADDRESS): production dependencies only, without the embedded
# ClickHouse engine (chDB, ~540 MB), compiled JavaScript with the workflow code bundled at
# build time, a non-root user.
# CI installs with the same command (npm ci).

FROM node:20.19.5-bookworm-slim AS build
WORKDIR /app
# The build script comes first: npm's `prepare` runs it, and it skips while the sources are absent.
COPY package.json package-lock.json ./
COPY scripts/build.mjs ./scripts/
RUN npm ci --no-audit --no-fund
COPY . .
# The same checks CI runs first, then the compiled JavaScript and the workflow bundle (dist/).
RUN npm run typecheck \
 && npm run build

FROM node:20.19.5-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/build.mjs ./scripts/
# Production dependencies only; chDB (an optional dependency, used only in embedded mode) is
# removed: this image talks to a ClickHouse server.
RUN npm ci --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/chdb node_modules/@chdb \
 && npm cache clean --force

FROM node:20.19.5-bookworm-slim
ENV NODE_ENV=production \
    RUNSYNC_DATA_DIR=/data \
    RUNSYNC_METRICS_PORT=9464
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# Compiled JavaScript only (bin/runsync.js runs dist/, which finds its workflow bundle), and the
# files it reads at run time: package.json, the migrations, the dev server's supervisor.
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY deploy/healthcheck.mjs ./deploy/healthcheck.mjs
COPY runtime/supervise.mjs ./runtime/supervise.mjs
COPY schema/migrations ./schema/migrations
# The image's user (uid 1000, from the node base image) owns only its data directory.
RUN mkdir -p /data && chown 1000:1000 /data
USER 1000:1000
EXPOSE 8124 9464
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=4 CMD ["node", "deploy/healthcheck.mjs"]
ENTRYPOINT ["node", "bin/runsync.js"]
CMD ["worker", "--schedules"]
