// Layering as code: which part of Parley may import which. `npm run lint:deps`
// checks it (CI runs it); docs/ARCHITECTURE.md shows the folder graph that
// `npm run docs:deps` draws from it.
//
// Dependencies point down, never up:
//
//   domain, config, ids, random-bytes, media-types   (leaves: pure rules, settings, id minting, random bytes, accepted file types)
//     ← log, store, infra                (ports and their adapters)
//       ← commands, projections, queries, auth, uploads, privacy, push   (services; no HTTP)
//         ← http, gateway, api-docs, every *routes.ts     (the edge: REST, WebSocket, documents)
//           ← compose.ts, cli/, main.ts  (wiring and the operator commands)
//
// A route module belongs to the edge whatever slice folder it sits in
// (commands/http-routes.ts, uploads/routes.ts): the slice keeps its routes
// beside its service, and the service stays free of HTTP.
// Tests, contracts, fixtures and bench code may reach anything.

const TESTS = '(\\.(spec|contract|fixture)\\.ts$)|(/testing/)|(^test/)|(^bench/)';
const DOMAIN = '^src/domain/';
const LEAVES = '^src/(config|config-aliases|ids|random-bytes|media-types|trusted-proxies)\\.ts$';
const LOW = '^src/(log|store|infra)/';
const SERVICES = '^src/(commands|projections|queries|auth|uploads|privacy|push|webhooks|bots)/';
const ROUTES = '^src/[^/]+/[a-z-]*routes\\.ts$';
const EDGE = '^src/(http|gateway|api-docs)/';
const WIRING = '^src/(compose\\.ts|main\\.ts|cli/)';
const ADAPTERS =
  '^src/(log/(kafka-log\\.ts|kafka/|sqlite-log\\.ts|sqlite/|registry-codec\\.ts)|infra/(redis-|smtp-)|uploads/(cloudinary-storage|local-storage|local-storage-routes)\\.ts)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A file circle has no bottom: neither side can be read, tested or moved alone.',
      from: { path: '^src/', pathNot: TESTS },
      to: { circular: true },
    },
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment: 'Deciders are pure functions of command and state: they import nothing of the rest of Parley.',
      from: { path: DOMAIN, pathNot: TESTS },
      to: { path: '^src/', pathNot: DOMAIN },
    },
    {
      name: 'leaves-stay-leaves',
      severity: 'error',
      comment:
        'config.ts, ids.ts, random-bytes.ts, media-types.ts and trusted-proxies.ts are read by every layer, so they import none of them (only each other).',
      from: { path: LEAVES },
      to: { path: '^src/', pathNot: LEAVES },
    },
    {
      name: 'ports-and-adapters-stay-low',
      severity: 'error',
      comment: 'log/, store/ and infra/ serve the services; they never call up into them or the edge.',
      from: { path: LOW, pathNot: TESTS },
      to: { path: [SERVICES, ROUTES, EDGE, WIRING] },
    },
    {
      name: 'services-know-no-edge',
      severity: 'error',
      comment: "Services answer REST and WebSocket alike; HTTP, frames and documents are the edge's business.",
      from: { path: SERVICES, pathNot: [TESTS, ROUTES] },
      to: { path: [EDGE, ROUTES, WIRING] },
    },
    {
      name: 'edge-knows-no-wiring',
      severity: 'error',
      comment: 'Routes, the gateway and the HTTP kit receive their dependencies; only compose.ts builds them.',
      from: { path: [EDGE, ROUTES], pathNot: TESTS },
      to: { path: WIRING },
    },
    {
      name: 'http-is-a-leaf-of-the-edge',
      severity: 'error',
      comment:
        'http/ is the Koa kit (app, body, validation, errors) that route modules and the gateway use; it knows none of them.',
      from: { path: '^src/http/', pathNot: TESTS },
      to: { path: ['^src/(gateway|api-docs)/', ROUTES] },
    },
    {
      name: 'only-wiring-knows-adapters',
      severity: 'error',
      comment: 'Code above the ports sees the port; compose.ts (and the CLI) pick the concrete adapter.',
      from: { path: '^src/', pathNot: [TESTS, WIRING, ADAPTERS] },
      to: { path: ADAPTERS },
    },
    {
      name: 'adapters-do-not-import-each-other',
      severity: 'error',
      comment: 'The Kafka and embedded logs (and the two file stores) share the port, never each other.',
      from: { path: '^src/log/(kafka-log\\.ts|kafka/)', pathNot: TESTS },
      to: { path: '^src/log/(sqlite-log\\.ts|sqlite/)' },
    },
    {
      name: 'adapters-do-not-import-each-other',
      severity: 'error',
      from: { path: '^src/log/(sqlite-log\\.ts|sqlite/)', pathNot: TESTS },
      to: { path: '^src/log/(kafka-log\\.ts|kafka/)' },
    },
    {
      name: 'adapters-do-not-import-each-other',
      severity: 'error',
      from: { path: '^src/uploads/(cloudinary|local)-storage\\.ts$', pathNot: TESTS },
      to: { path: '^src/uploads/(cloudinary|local)-storage\\.ts$' },
    },
    {
      name: 'product-code-never-reaches-tests',
      severity: 'error',
      comment: 'What ships must not depend on test helpers, fixtures or bench code.',
      from: { path: '^(src|migrations|bin)/', pathNot: TESTS },
      to: { path: TESTS },
    },
    {
      name: 'no-dev-dependencies-in-product-code',
      severity: 'error',
      comment: 'npm ci --omit=dev must still run the service.',
      from: { path: '^(src|migrations|bin)/', pathNot: TESTS },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-unresolvable-imports',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|data)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
    },
    reporterOptions: {
      archi: {
        collapsePattern: '^(src/[^/.]+|src/[^/]+\\.ts|[^/]+)',
      },
    },
  },
};
