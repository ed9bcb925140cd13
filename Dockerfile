# One image for every service; the command chooses which one runs:
#   node gateway/dist/src/main.js | services/<name>/dist/src/main.js   one service (Kubernetes, compose)
#   node services/mesh/dist/src/setup.js                                 the setup job (migrations, streams, consumers)
#   node services/mesh/dist/src/reseal.js [--check]                      key rotation: re-seal stored tokens
#   node services/mesh/dist/src/main.js                                  every service in one process (the default)
# One image because the services share one runtime library and one lockfile: one build, one
# vulnerability scan and one tag per release, and no two services can run different versions of
# the shared code. The image holds all five services (a few MB of compiled JavaScript more than
# any one of them needs); the dependencies, which are most of the size, are the same for all.
#
# Two targets:
#   docker build .                 the production image (the last stage, `runtime`): the services
#                                  and their production dependencies, nothing of the simulators,
#                                  the demo or the tests
#   docker build --target demo .   the demo image: the same plus the simulated hh.ru and Bitrix24
#                                  (`node demo/dist/src/sim.js hh|b24`, the compose demo profile)
#
# The base image is pinned by digest, so a rebuild gets the same Node and Debian packages until
# the digest is changed here on purpose. The digest is the multi-platform index of the official
# node:20-bookworm-slim (Node 20.20.2, Debian bookworm of 21 Apr 2026) as the Docker Official
# Images publish it in https://github.com/docker-library/repo-info/blob/master/repos/node/remote/20-bookworm-slim.md
# To refresh it, take the first `docker pull node@sha256:…` line of that page, or ask the registry:
#   docker buildx imagetools inspect node:20-bookworm-slim --format '{{json .Manifest.Digest}}'
# then rebuild, run the tests against the new image and commit the new digest.
ARG NODE_IMAGE=node:20-bookworm-slim@sha256:25070a03f077f5860e4f2db8d147380678ed40ead415a21eaffd5a6208f61948

# Only the package manifests, so the `npm ci` layer below is reused while only sources change
# (a COPY from a stage is cached by content). Found by name, so a new workspace needs no edit here.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
  && find . -name node_modules -prune -o -name package.json -print0 | xargs -0 cp --parents -t /manifests \
  && cp package-lock.json /manifests/

# Every dependency (the compiler included) and the services' sources.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY --from=manifests /manifests ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY services services
COPY gateway gateway
COPY templates templates
# The simulators' and tests' sources are needed to compile, never to run: each workspace's
# tsconfig.json builds its tests too, and those reference the simulators (common's and
# timeline-renderer's test/sim/b24, hh-connector's test/sim/hh), so `tsc -b` cannot start without
# them. The production image copies nothing of test/ from the build (see `runtime` below).
COPY test test

# The production build: the mesh references every service and the shared runtime, so this builds
# exactly what runs. production-workspaces.mjs keeps only the workspaces the mesh depends on, so
# the prune drops the simulators' and the tests' packages (81 MB of node_modules become 45 MB).
FROM deps AS build
COPY scripts/production-workspaces.mjs scripts/
RUN npx tsc -b services/mesh \
  && node scripts/production-workspaces.mjs . @hhb24/mesh \
  && npm prune --omit=dev --no-audit --no-fund \
  && rm -rf services/*/dist/test gateway/dist/test

# The demo's build: the services, the simulators and the demo's seed.
FROM deps AS demo-build
COPY demo demo
RUN npx tsc -b services/mesh demo \
  && npm prune --omit=dev --no-audit --no-fund \
  && rm -rf services/*/dist/test gateway/dist/test test/sim/*/dist/test

# What both images share: the user, the ports, the health check and the default command.
FROM ${NODE_IMAGE} AS runtime-base
ENV NODE_ENV=production
WORKDIR /app
# The image's `node` user, by number so that Kubernetes can verify runAsNonRoot. Everything is
# owned by root (COPY ignores USER) and nothing is written inside the image: the root filesystem
# can be read-only.
USER 1000:1000
# gateway, hh-connector, crm-writer, timeline-renderer, settings (each service's *_PORT default).
EXPOSE 3000 3010 3020 3030 3040
# Liveness of the service whose port HEALTH_PORT names (compose sets it per service).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HEALTH_PORT||3000)+'/livez').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "services/mesh/dist/src/main.js"]

# docker build --target demo: the compose demo profile's simulators.
FROM runtime-base AS demo
COPY --from=demo-build /app/package.json ./
COPY --from=demo-build /app/node_modules node_modules
COPY --from=demo-build /app/services services
COPY --from=demo-build /app/gateway gateway
COPY --from=demo-build /app/templates templates
COPY --from=demo-build /app/test test
COPY --from=demo-build /app/demo demo

# The production image (the default target, so it stays last).
FROM runtime-base AS runtime
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/services services
COPY --from=build /app/gateway gateway
COPY --from=build /app/templates templates
