# One image for every service; the command chooses which one runs (see docker-compose.yml).
FROM node:20-bookworm-slim AS build
WORKDIR /app
# Manifests first, so the dependency layer is reused while only sources change.
COPY package.json package-lock.json tsconfig.json ./
COPY services/common/package.json services/common/
COPY services/hh-connector/package.json services/hh-connector/
COPY services/crm-writer/package.json services/crm-writer/
COPY services/timeline-renderer/package.json services/timeline-renderer/
COPY services/settings/package.json services/settings/
COPY services/mesh/package.json services/mesh/
COPY gateway/package.json gateway/
RUN npm ci --no-audit --no-fund
COPY services services
COPY gateway gateway
COPY templates templates
RUN npx tsc -b && npm prune --omit=dev --no-audit --no-fund && rm -rf services/*/dist/test gateway/dist/test

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json ./
COPY --from=build --chown=root:root /app/node_modules node_modules
COPY --from=build --chown=root:root /app/services services
COPY --from=build --chown=root:root /app/gateway gateway
COPY --from=build --chown=root:root /app/templates templates
# Runs as the unprivileged `node` user; nothing is written inside the image, so the root
# filesystem can be mounted read-only.
USER node
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.HEALTH_PORT||3000)+'/livez').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "services/mesh/dist/src/main.js"]
