# medid on Node.js 24 (which runs the TypeScript sources directly: no build step for the server).

# The implementation guide is built with development tools, then only its pages are kept.
FROM node:24-slim AS ig
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN node scripts/build-ig.ts

FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production MEDID_DATA_DIR=/data PORT=8080
COPY package.json package-lock.json ./
# Runtime dependencies only; the image's own Node 24 replaces the pinned `node` devDependency.
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY profiles ./profiles
COPY portal ./portal
COPY --from=ig /app/ig/site ./ig/site
# Build the slim R4 definitions cache now, so containers start fast and never write to /app.
RUN node -e "import('./src/fhir/definitions/slim-structures.ts').then((m) => m.loadSlimStructures())" \
 && mkdir -p /data && chown node:node /data
# glibc keeps up to 8 malloc arenas per core, each holding freed memory: two keep the server ~20 MB smaller.
ENV MALLOC_ARENA_MAX=2
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:8080/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["node", "--max-semi-space-size=8", "--heap-growing-percent=50", "src/main.ts"]
