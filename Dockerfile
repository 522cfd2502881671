# Warden's image: built with every dependency, run with the production ones only, as a non-root user.
#   docker build -t warden .            docker compose up   (with PostgreSQL; see compose.yaml)
# scripts/lint-dockerfile.ts checks the rules this file keeps (CI runs it where no Docker daemon is).

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY . .
# generated/ is committed, so the build compiles it as it is; prune drops the dev dependencies.
RUN npm ci --no-audit --no-fund \
 && npm run build \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=9300 \
    WARDEN_DATA_DIR=/data
WORKDIR /app
# What `node dist/src/main.js` reads at run time: the compiled code, its packages, the spec it serves
# and checks generated/ against (openapi/), and the docs' icon.
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/generated ./generated
COPY --from=build /app/openapi ./openapi
COPY --from=build /app/src/modules/system/favicon.ico ./src/modules/system/favicon.ico
# The embedded database (no DATABASE_URL) keeps its files in /data, owned by the user Warden runs as.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 9300
# Ready = the database answers and every migration is applied (the image has no curl; Node fetches).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 9300) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/main.js"]
