# One image for every service; the command chooses which one runs:
#   node gateway/dist/src/main.js | services/<name>/dist/src/main.js   one service (Kubernetes, compose)
#   node services/mesh/dist/src/setup.js                                 the setup job (migrations, streams, consumers)
#   node services/mesh/dist/src/reseal.js [--check]                      key rotation: re-seal stored tokens
#   node services/mesh/dist/src/main.js                                  every service in one process (the default)
#   node demo/dist/src/sim.js hh|b24                                     a simulator of the compose demo profile
# One image because the services share one runtime library and one lockfile: one build, one
# vulnerability scan and one tag per release, and no two services can run different versions of
# the shared code. The image holds all five services (a few MB of compiled JavaScript more than
# any one of them needs); the dependencies, which are most of the size, are the same for all.
ARG NODE_IMAGE=node:20-bookworm-slim

# Only the package manifests, so the `npm ci` layer below is reused while only sources change
# (a COPY from a stage is cached by content). Found by name, so a new workspace needs no edit here.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
  && find . -name node_modules -prune -o -name package.json -print0 | xargs -0 cp --parents -t /manifests \
  && cp package-lock.json /manifests/

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY --from=manifests /manifests ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY services services
COPY gateway gateway
COPY templates templates
# The simulators and the demo's seed come along for the compose demo profile.
COPY test test
COPY demo demo
# The mesh references every service and the shared runtime: this builds exactly what runs; the
# demo project builds the simulators it starts.
RUN npx tsc -b services/mesh demo \
  && npm prune --omit=dev --no-audit --no-fund \
  && rm -rf services/*/dist/test gateway/dist/test test/sim/*/dist/test

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/services services
COPY --from=build /app/gateway gateway
COPY --from=build /app/templates templates
COPY --from=build /app/test test
COPY --from=build /app/demo demo
# The image's `node` user, by number so that Kubernetes can verify runAsNonRoot. Everything is
# owned by root and nothing is written inside the image: the root filesystem can be read-only.
USER 1000:1000
# gateway, hh-connector, crm-writer, timeline-renderer, settings (each service's *_PORT default).
EXPOSE 3000 3010 3020 3030 3040
# Liveness of the service whose port HEALTH_PORT names (compose sets it per service).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HEALTH_PORT||3000)+'/livez').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "services/mesh/dist/src/main.js"]
