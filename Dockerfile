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
RUN mkdir -p /var/lib/parley && chown node:node /var/lib/parley
USER node
EXPOSE 8080
CMD ["node", "src/main.ts", "start"]
