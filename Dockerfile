# syntax=docker/dockerfile:1
# stickyd: build stage compiles TypeScript; the runtime stage carries only production dependencies
# and the compiled code, runs as the unprivileged `node` user, and reads /etc/stickyd/stickyd.yaml.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY scripts/build-info.mjs ./scripts/
# The build has no .git: `docker build --build-arg STICKYD_BUILD_COMMIT=$(git rev-parse HEAD) .`
# names the commit in `stickyd -v` and stickyd_build_info ("unknown" otherwise).
ARG STICKYD_BUILD_COMMIT=unknown
# `npm ci` runs the prepare script, which builds dist/ (and dist/build-info.json).
RUN STICKYD_BUILD_COMMIT=$STICKYD_BUILD_COMMIT npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    STICKYD_CONFIG=/etc/stickyd/stickyd.yaml
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY config/stickyd.yaml config/stickyd.schema.json /etc/stickyd/
USER node
EXPOSE 8051 8052
# Uses the admin listener's /healthz when the config has one, else a TCP check of the first listener;
# `healthcheck` loads only the configuration loader (README "Docker": about 0.2 s of CPU a check).
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "/app/bin/stickyd.js", "healthcheck"]
# SIGTERM: finish in-flight requests (server.gracefultimeout), then exit 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/bin/stickyd.js"]
CMD ["run"]
