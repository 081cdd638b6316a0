// The origin links and stored URLs point at (config.ts `publicOrigin`):
// configured, or the listening address — an address a client can reach; and
// settings that were retired stop the start instead of being ignored; and the
// process manager's read delay, which depends on the log in use.

import { describe, expect, it } from 'vitest';
import { gatheredReadDelayMs, loadConfig, publicOrigin } from './config.ts';

describe('publicOrigin', () => {
  it('is PARLEY_PUBLIC_URL when set (without a trailing slash)', () => {
    expect(publicOrigin(loadConfig({ PARLEY_PUBLIC_URL: 'https://chat.example.com/' }), 8080)).toBe('https://chat.example.com');
  });

  it('unset, is the listening address on its actual port; every interface reads as 127.0.0.1', () => {
    expect(publicOrigin(loadConfig({}), 41234)).toBe('http://127.0.0.1:41234');
    expect(publicOrigin(loadConfig({ HOST: '::' }), 8080)).toBe('http://127.0.0.1:8080');
    expect(publicOrigin(loadConfig({ HOST: '10.1.2.3' }), 8080)).toBe('http://10.1.2.3:8080');
    expect(publicOrigin(loadConfig({ HOST: '::1' }), 8080)).toBe('http://[::1]:8080');
  });
});

describe('PARLEY_PROJECTION_READ_DELAY_MS', () => {
  it('reads every event at once by default in both modes; a setting wins; a negative one is refused', () => {
    expect(loadConfig({}).PARLEY_PROJECTION_READ_DELAY_MS).toBe(0);
    expect(loadConfig({ KAFKA_BROKERS: '127.0.0.1:9092' }).PARLEY_PROJECTION_READ_DELAY_MS).toBe(0);
    expect(loadConfig({ PARLEY_PROJECTION_READ_DELAY_MS: '20' }).PARLEY_PROJECTION_READ_DELAY_MS).toBe(20);
    expect(() => loadConfig({ PARLEY_PROJECTION_READ_DELAY_MS: '-1' })).toThrow(/PARLEY_PROJECTION_READ_DELAY_MS/);
  });
});

describe('gatheredReadDelayMs', () => {
  const delays = (env: Record<string, string>) => {
    const config = loadConfig(env);
    return [
      gatheredReadDelayMs(config.PARLEY_PROCESS_MANAGER_READ_DELAY_MS, config),
      gatheredReadDelayMs(config.PARLEY_WEBHOOK_READ_DELAY_MS, config),
      gatheredReadDelayMs(config.PARLEY_PUSH_READ_DELAY_MS, config),
    ];
  };
  it('the direct-rooms manager, the webhook dispatcher and the pusher gather for 200 ms on Kafka, read at once on the embedded log, and a setting wins in either mode', () => {
    const kafka = { KAFKA_BROKERS: '127.0.0.1:9092' };
    expect(delays(kafka)).toEqual([200, 200, 200]);
    expect(delays({})).toEqual([0, 0, 0]);
    expect(delays({ ...kafka, PARLEY_PROCESS_MANAGER_READ_DELAY_MS: '0' })).toEqual([0, 200, 200]);
    expect(delays({ ...kafka, PARLEY_WEBHOOK_READ_DELAY_MS: '0' })).toEqual([200, 0, 200]);
    expect(delays({ ...kafka, PARLEY_PUSH_READ_DELAY_MS: '0' })).toEqual([200, 200, 0]);
    expect(
      delays({ PARLEY_PROCESS_MANAGER_READ_DELAY_MS: '50', PARLEY_WEBHOOK_READ_DELAY_MS: '70', PARLEY_PUSH_READ_DELAY_MS: '90' }),
    ).toEqual([50, 70, 90]);
    expect(() => loadConfig({ PARLEY_PROCESS_MANAGER_READ_DELAY_MS: '-1' })).toThrow(/PARLEY_PROCESS_MANAGER_READ_DELAY_MS/);
    expect(() => loadConfig({ PARLEY_WEBHOOK_READ_DELAY_MS: '-1' })).toThrow(/PARLEY_WEBHOOK_READ_DELAY_MS/);
    expect(() => loadConfig({ PARLEY_PUSH_READ_DELAY_MS: '-1' })).toThrow(/PARLEY_PUSH_READ_DELAY_MS/);
  });
});

describe('retired settings', () => {
  it('a setting that was replaced stops the start with what replaced it, instead of being ignored', () => {
    expect(() => loadConfig({ PARLEY_LOGIN_MAX_ATTEMPTS: '10' })).toThrow(
      /PARLEY_LOGIN_MAX_ATTEMPTS is retired: .*PARLEY_LOGIN_FREE_FAILURES/,
    );
    expect(() => loadConfig({})).not.toThrow();
  });
});

describe('PARLEY_TRUST_PROXY', () => {
  it('a value that is neither a hop count nor addresses stops the start, naming the entry', () => {
    expect(() => loadConfig({ PARLEY_TRUST_PROXY: 'nginx' })).toThrow(/PARLEY_TRUST_PROXY.*'nginx'/s);
    expect(loadConfig({ PARLEY_TRUST_PROXY: '10.0.0.0/8' }).PARLEY_TRUST_PROXY.kind).toBe('addresses');
    expect(loadConfig({}).PARLEY_TRUST_PROXY).toEqual({ kind: 'none' });
  });
});

describe("the Go service's variable names", () => {
  it('name the same settings: server port, database, Redis, Cloudinary, token lifetime', () => {
    const config = loadConfig({
      SERVER_PORT: '9090',
      DB_HOST: 'db.internal',
      DB_PORT: '3307',
      DB_USER: 'chat',
      DB_PASSWORD: 'p@ss:word',
      DB_NAME: 'chat_app',
      REDIS_HOST: 'cache',
      REDIS_PORT: '6380',
      REDIS_PASSWORD: '',
      REDIS_DB: '2',
      CLOUDINARY_CLOUD_NAME: 'demo',
      CLOUDINARY_API_KEY: '1234',
      CLOUDINARY_API_SECRET: 's3cr/t',
      KAFKA_BROKERS: 'kafka:9092',
      JWT_EXPIRATION: '1h30m',
    });
    expect(config.PORT).toBe(9090);
    expect(config.DATABASE_URL).toBe('mysql://chat:p%40ss%3Aword@db.internal:3307/chat_app');
    expect(config.REDIS_URL).toBe('redis://cache:6380/2');
    expect(config.CLOUDINARY_URL).toBe('cloudinary://1234:s3cr%2Ft@demo');
    expect(config.KAFKA_BROKERS).toBe('kafka:9092');
    expect(config.PARLEY_ACCESS_TTL_S).toBe(5400);
  });

  it("Parley's own name wins over its alias", () => {
    const config = loadConfig({
      SERVER_PORT: '9090',
      PORT: '8081',
      DB_HOST: 'old',
      DATABASE_URL: 'mysql://root@new:3306/parley',
    });
    expect(config.PORT).toBe(8081);
    expect(config.DATABASE_URL).toBe('mysql://root@new:3306/parley');
  });

  it('JWT_SECRET stops the start and says how Parley signs instead', () => {
    expect(() => loadConfig({ JWT_SECRET: 'your-secret-key' })).toThrow(
      /JWT_SECRET is not used: .*RS256.*PARLEY_JWT_PRIVATE_KEY/s,
    );
  });

  it('a half-given Cloudinary account or a duration it cannot read stops the start, naming what is wrong', () => {
    expect(() => loadConfig({ CLOUDINARY_CLOUD_NAME: 'demo' })).toThrow(/without CLOUDINARY_API_KEY, CLOUDINARY_API_SECRET/);
    expect(() => loadConfig({ JWT_EXPIRATION: 'one day' })).toThrow(/not a duration: 'one day'/);
    expect(loadConfig({ JWT_EXPIRATION: '900' }).PARLEY_ACCESS_TTL_S).toBe(900);
  });
});
