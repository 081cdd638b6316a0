// The origin links and stored URLs point at (config.ts `publicOrigin`):
// configured, or the listening address — an address a client can reach; and
// settings that were retired stop the start instead of being ignored.

import { describe, expect, it } from 'vitest';
import { loadConfig, publicOrigin } from './config.ts';

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
