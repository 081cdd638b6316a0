# Parley runs its TypeScript sources directly on Node 24 (type stripping).
FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY schemas ./schemas
COPY migrations ./migrations
COPY web ./web
# The data dir: the node user's own, and the default, so that a plain
# `docker run` (no PARLEY_DATA_DIR, no volume) does not try to write /app/data,
# which belongs to root. Mount a volume here to keep it.
RUN mkdir -p /var/lib/parley && chown node:node /var/lib/parley && chmod 700 /var/lib/parley
ENV PARLEY_DATA_DIR=/var/lib/parley
VOLUME /var/lib/parley
USER node
EXPOSE 8080
CMD ["node", "bin/parley.js", "start"]
