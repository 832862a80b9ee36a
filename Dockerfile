# syntax=docker/dockerfile:1
# stickyd: build stage compiles TypeScript; the runtime stage carries only production dependencies
# and the compiled code, runs as the unprivileged `node` user, and reads /etc/stickyd/stickyd.yaml.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
# `npm ci` runs the prepare script, which builds dist/.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund

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
# Uses the admin listener's /healthz when the config has one, else a TCP check of the first listener.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "/app/bin/stickyd.js", "healthcheck"]
# SIGTERM: finish in-flight requests (server.gracefultimeout), then exit 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/bin/stickyd.js"]
CMD ["run"]
