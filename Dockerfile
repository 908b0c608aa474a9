# syntax=docker/dockerfile:1
# One image for every tier: the CLI is the entrypoint and the chart picks the
# subcommand (frontend, backend, provision, ...). Node 26 is the current LTS, and
# its major is the one test/toolchain/node-version pins for the tests and CI.
ARG NODE_IMAGE=node:26-trixie-slim

FROM ${NODE_IMAGE} AS build
# Behind a TLS-inspecting proxy, npm needs the proxy's certificate authority: a path inside
# the build (npm run image mounts the host's NODE_EXTRA_CA_CERTS and sets this). Only this
# stage sees it; the final image does not.
ARG NODE_EXTRA_CA_CERTS
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY schemas ./schemas
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
# Only node runs here: npm, npx, corepack and yarn (whichever the base has) are build
# tools, removed from the final stage. The base's dpkg and apt stay.
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx \
      /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* \
 && node --version
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/schemas ./schemas
COPY --from=build /app/src/frontend/public ./src/frontend/public
# The image's own `node` user (uid 1000); the chart also sets runAsNonRoot and a
# read-only root filesystem, with an emptyDir on /tmp for the only writes.
USER 1000:1000
ENV TMPDIR=/tmp
EXPOSE 8080 9090
# /bin/sh stays in the image: the in-pod CPU load test runs `sh -c` in the frontend.
ENTRYPOINT ["node", "/app/dist/src/cli/bin.js"]
CMD ["--help"]
