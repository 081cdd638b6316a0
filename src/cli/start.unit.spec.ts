// The human line `parley start` writes to stderr: where, on what, and where the files are.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { startLine } from './start.ts';

const cwd = '/srv/parley';

describe('the start line', () => {
  it('embedded with the defaults: localhost, 8080, ./data', () => {
    const config = { ...loadConfig({}), PARLEY_DATA_DIR: path.join(cwd, 'data') };
    expect(startLine(config, 8080, cwd)).toBe('listening on http://localhost:8080, embedded, data in ./data');
  });

  it('names the distributed adapters, the roles when not all, and a data dir elsewhere as it is', () => {
    const config = loadConfig({
      HOST: '10.0.0.5',
      KAFKA_BROKERS: 'kafka:9092',
      DATABASE_URL: 'mysql://u:p@db/parley',
      REDIS_URL: 'redis://redis:6379',
      PARLEY_ROLES: 'api,gateway',
      PARLEY_DATA_DIR: '/var/lib/parley',
    });
    expect(startLine(config, 9000, cwd)).toBe(
      'listening on http://10.0.0.5:9000 (roles api, gateway), on Kafka + MySQL + Redis, data in /var/lib/parley',
    );
  });

  it('a process without api or gateway says it has no port', () => {
    const config = loadConfig({
      KAFKA_BROKERS: 'kafka:9092',
      PARLEY_ROLES: 'processor,projector',
      PARLEY_DATA_DIR: '/var/lib/parley',
    });
    expect(startLine(config, 0, cwd)).toBe('running processor, projector (no HTTP port), on Kafka, data in /var/lib/parley');
  });
});
