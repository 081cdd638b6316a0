import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importSigningKey, loadOrCreateSigningKey, type SigningKey } from './keys.ts';
import { AuthError, createTokenService, MAX_TOKEN_BYTES, type TokenService } from './tokens.ts';

const ISSUER = 'parley';
const AUDIENCE = 'parley-api';
const TTL = 900;
const T0 = Date.UTC(2030, 0, 1);

const b64 = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

// Test keys are made here, so their private halves are at hand for forging.
const ours = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const theirs = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

let dir: string;
let key: SigningKey;
let attacker: SigningKey;
let now = T0;
let service: TokenService;

type Signer = crypto.KeyObject | crypto.SignKeyObjectInput;

/** Signs any header and payload; RS256 unless told otherwise (the header's alg is not consulted). */
function sign(header: object, payload: unknown, signer: Signer = ours, digest = 'sha256'): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${crypto.sign(digest, Buffer.from(input), signer).toString('base64url')}`;
}
const rs256 = (header: object, payload: unknown, signer: 'ours' | 'theirs' = 'ours') =>
  sign(header, payload, signer === 'ours' ? ours : theirs);

const header = (extra: object = {}) => ({ alg: 'RS256', typ: 'at+jwt', kid: key.kid, ...extra });
const claims = (extra: object = {}) => {
  const iat = Math.floor(now / 1000);
  return { iss: ISSUER, aud: AUDIENCE, sub: 'user-1', iat, exp: iat + TTL, jti: crypto.randomUUID(), ...extra };
};
const without = (object: Record<string, unknown>, name: string) => {
  const { [name]: _, ...rest } = object;
  return rest;
};

/**
 * Expects `invalid_token` (or `code`). `because`, when given, is the jose error
 * code kept in `cause` (or 'precheck' for the shape/size check before jose),
 * proving the token failed the intended check, not some other one.
 */
async function expectRejected(token: unknown, code: 'invalid_token' | 'token_expired' = 'invalid_token', because?: string) {
  const error = await service.verifyAccessToken(token).then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AuthError);
  expect((error as AuthError).code).toBe(code);
  if (because !== undefined) {
    const cause = (error as AuthError).cause as { code?: string } | undefined;
    expect(cause?.code ?? 'precheck').toBe(because);
  }
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-tokens-'));
  key = await importSigningKey(ours.export({ type: 'pkcs8', format: 'pem' }).toString());
  attacker = await importSigningKey(theirs.export({ type: 'pkcs8', format: 'pem' }).toString());
  service = createTokenService({ key, issuer: ISSUER, audience: AUDIENCE, accessTtlS: TTL, clock: () => now });
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('issue and verify', () => {
  it('round-trips the user id and the session', async () => {
    now = T0;
    const { token, expires_in } = await service.issueAccessToken('user-42', 'session-1');
    expect(expires_in).toBe(TTL);
    await expect(service.verifyAccessToken(token)).resolves.toEqual({
      userId: 'user-42',
      sessionId: 'session-1',
      expiresAt: T0 + TTL * 1000,
    });
  });

  it('carries sub, sid, iat, exp, jti, iss, aud and an at+jwt header with our kid', async () => {
    now = T0;
    const { token } = await service.issueAccessToken('user-42', 'session-1');
    const [h, p] = token.split('.');
    expect(JSON.parse(Buffer.from(h ?? '', 'base64url').toString())).toEqual({ alg: 'RS256', typ: 'at+jwt', kid: key.kid });
    const payload = JSON.parse(Buffer.from(p ?? '', 'base64url').toString());
    expect(payload).toMatchObject({
      sub: 'user-42',
      sid: 'session-1',
      iss: ISSUER,
      aud: AUDIENCE,
      iat: T0 / 1000,
      exp: T0 / 1000 + TTL,
    });
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
    const other = await service.issueAccessToken('user-42', 'session-1');
    expect(JSON.parse(Buffer.from(other.token.split('.')[1] ?? '', 'base64url').toString()).jti).not.toBe(payload.jti);
  });

  it('verifies on another instance loading the same key file', async () => {
    now = T0;
    const options = { issuer: ISSUER, audience: AUDIENCE, accessTtlS: TTL, clock: () => now };
    const first = createTokenService({ ...options, key: await loadOrCreateSigningKey(dir) });
    const { token } = await first.issueAccessToken('user-7', 'session-1');
    const second = createTokenService({ ...options, key: await loadOrCreateSigningKey(dir) });
    await expect(second.verifyAccessToken(token)).resolves.toMatchObject({ userId: 'user-7' });
  });

  it('verifies on another instance given the same key as JWK', async () => {
    now = T0;
    const { token } = await service.issueAccessToken('user-8', 'session-1');
    const shared = await importSigningKey(JSON.stringify(ours.export({ format: 'jwk' })));
    expect(shared.kid).toBe(key.kid);
    const other = createTokenService({ key: shared, issuer: ISSUER, audience: AUDIENCE, accessTtlS: TTL, clock: () => now });
    await expect(other.verifyAccessToken(token)).resolves.toMatchObject({ userId: 'user-8' });
  });

  it('accepts our own hand-made token (the forging helpers are sound)', async () => {
    now = T0;
    await expect(service.verifyAccessToken(rs256(header(), claims()))).resolves.toMatchObject({ userId: 'user-1' });
  });

  it('throws an AuthError whose message says no more than its code', async () => {
    const error = await service.verifyAccessToken('a.b.c').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'AuthError', code: 'invalid_token', message: 'invalid access token' });
  });
});

describe('F1: alg none', () => {
  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    it(`rejects alg "${alg}" with an empty signature, and with the signature dropped`, async () => {
      now = T0;
      const unsigned = `${b64(header({ alg }))}.${b64(claims())}`;
      await expectRejected(`${unsigned}.`, 'invalid_token', 'precheck');
      await expectRejected(unsigned, 'invalid_token', 'precheck');
      // Even with a signature present, the alg is not on the allowlist.
      await expectRejected(`${unsigned}.${b64('sig')}`, 'invalid_token', 'ERR_JOSE_ALG_NOT_ALLOWED');
    });
  }

  it('rejects a real token with its signature stripped (trailing dot kept)', async () => {
    now = T0;
    const { token } = await service.issueAccessToken('user-1', 'session-1');
    await expectRejected(token.slice(0, token.lastIndexOf('.') + 1));
  });
});

describe('F2: key confusion', () => {
  it('rejects HS256 tokens whose HMAC secret is our public key (PEM, DER, JWK)', async () => {
    now = T0;
    const publicKey = crypto.createPublicKey(ours);
    const secrets = [
      publicKey.export({ type: 'spki', format: 'pem' }),
      publicKey.export({ type: 'pkcs1', format: 'pem' }),
      publicKey.export({ type: 'spki', format: 'der' }),
      JSON.stringify(key.publicJwk),
      JSON.stringify(key.jwks()),
    ];
    for (const secret of secrets) {
      const input = `${b64(header({ alg: 'HS256' }))}.${b64(claims())}`;
      const signature = crypto.createHmac('sha256', secret).update(input).digest('base64url');
      await expectRejected(`${input}.${signature}`, 'invalid_token', 'ERR_JOSE_ALG_NOT_ALLOWED');
    }
  });

  it('rejects other RSA algorithms correctly signed with our key (PS256, RS384, RS512)', async () => {
    now = T0;
    const pss = { key: ours, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
    await expectRejected(sign(header({ alg: 'PS256' }), claims(), pss));
    await expectRejected(sign(header({ alg: 'RS384' }), claims(), ours, 'sha384'));
    await expectRejected(sign(header({ alg: 'RS512' }), claims(), ours, 'sha512'));
  });
});

describe('F3: wrong key and tampering', () => {
  it('rejects RS256 signed by another key, with our kid and with its own', async () => {
    now = T0;
    await expectRejected(rs256(header(), claims(), 'theirs'), 'invalid_token', 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    await expectRejected(rs256(header({ kid: attacker.kid }), claims(), 'theirs'));
  });

  it('rejects a token with a payload byte flipped', async () => {
    now = T0;
    const { token } = await service.issueAccessToken('user-1', 'session-1');
    const [h, p, s] = token.split('.') as [string, string, string];
    const payload = Buffer.from(p, 'base64url');
    const at = payload.indexOf('user-1') + 5;
    payload[at] = (payload[at] ?? 0) ^ 0x01; // user-1 → user-0
    await expectRejected(`${h}.${payload.toString('base64url')}.${s}`);
  });

  it('rejects a token with a signature byte flipped', async () => {
    now = T0;
    const { token } = await service.issueAccessToken('user-1', 'session-1');
    const [h, p, s] = token.split('.') as [string, string, string];
    const signature = Buffer.from(s, 'base64url');
    signature[10] = (signature[10] ?? 0) ^ 0x80;
    await expectRejected(`${h}.${p}.${signature.toString('base64url')}`);
  });

  it('rejects a header swapped in from another token', async () => {
    now = T0;
    const { token } = await service.issueAccessToken('user-1', 'session-1');
    const [, p, s] = token.split('.');
    await expectRejected(`${b64(header({ typ: 'at+jwt', extra: 1 }))}.${p}.${s}`);
  });
});

describe('F4: embedded keys are ignored', () => {
  it('rejects attacker-signed tokens that carry the attacker key in jwk, jku, x5u or x5c', async () => {
    now = T0;
    const embedded = [
      { jwk: attacker.publicJwk },
      { jku: 'https://attacker.example/jwks.json' },
      { x5u: 'https://attacker.example/cert.pem' },
      { x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'] },
    ];
    for (const extra of embedded) {
      await expectRejected(rs256(header(extra), claims(), 'theirs'));
      await expectRejected(rs256(header({ ...extra, kid: attacker.kid }), claims(), 'theirs'));
    }
  });
});

describe('F5: kid injection', () => {
  const kids = ['../../dev/null', '/etc/passwd', "' OR 1=1--", '"; DROP TABLE users; --', 'k'.repeat(4000), 'unknown', ''];
  it('rejects injected kids signed by an attacker', async () => {
    now = T0;
    for (const kid of kids) await expectRejected(rs256(header({ kid }), claims(), 'theirs'));
  });

  it('rejects a foreign kid even on a token our key signed', async () => {
    now = T0;
    for (const kid of kids) await expectRejected(rs256(header({ kid }), claims()));
    await expectRejected(rs256(without(header(), 'kid'), claims()));
  });
});

describe('F6: time claims', () => {
  it('accepts a token until exp, plus the 5 s tolerance; then says token_expired', async () => {
    now = T0;
    const { token } = await service.issueAccessToken('user-1', 'session-1');
    now = T0 + (TTL + 4) * 1000;
    await expect(service.verifyAccessToken(token)).resolves.toMatchObject({ userId: 'user-1' });
    now = T0 + (TTL + 6) * 1000;
    await expectRejected(token, 'token_expired');
    now = T0;
  });

  it('rejects nbf in the future beyond the tolerance, and accepts it within', async () => {
    now = T0;
    await expectRejected(rs256(header(), claims({ nbf: T0 / 1000 + 6 })));
    await expect(service.verifyAccessToken(rs256(header(), claims({ nbf: T0 / 1000 + 4 })))).resolves.toBeTruthy();
  });

  it('rejects iat in the future beyond the tolerance', async () => {
    now = T0;
    await expectRejected(rs256(header(), claims({ iat: T0 / 1000 + 60, exp: T0 / 1000 + 60 + TTL })));
  });

  it('rejects a token older than the access TTL whatever its exp says', async () => {
    now = T0;
    await expectRejected(rs256(header(), claims({ iat: T0 / 1000 - TTL - 60, exp: T0 / 1000 + 3600 })), 'token_expired');
  });

  it('rejects missing exp, iat, sub or jti, and non-numeric exp', async () => {
    now = T0;
    for (const name of ['exp', 'iat', 'sub', 'jti']) await expectRejected(rs256(header(), without(claims(), name)));
    await expectRejected(rs256(header(), claims({ exp: String(T0 / 1000 + TTL) })));
  });

  it('rejects a non-string or empty sub', async () => {
    now = T0;
    await expectRejected(rs256(header(), claims({ sub: 42 })));
    await expectRejected(rs256(header(), claims({ sub: '' })));
  });
});

describe('F7: issuer and audience', () => {
  it('rejects wrong or missing iss', async () => {
    now = T0;
    await expectRejected(rs256(header(), claims({ iss: 'evil' })));
    await expectRejected(rs256(header(), without(claims(), 'iss')));
  });

  it('rejects wrong or missing aud, and an aud array of attacker values only', async () => {
    now = T0;
    await expectRejected(rs256(header(), claims({ aud: 'other-api' })));
    await expectRejected(rs256(header(), without(claims(), 'aud')));
    await expectRejected(rs256(header(), claims({ aud: ['evil', 'other-api'] })));
  });

  it('rejects tokens of a service with another issuer, audience or key', async () => {
    now = T0;
    const { token } = await service.issueAccessToken('user-1', 'session-1');
    const options = { key, issuer: ISSUER, audience: AUDIENCE, accessTtlS: TTL, clock: () => now };
    await expect(createTokenService({ ...options, issuer: 'x' }).verifyAccessToken(token)).rejects.toBeInstanceOf(AuthError);
    await expect(createTokenService({ ...options, audience: 'x' }).verifyAccessToken(token)).rejects.toBeInstanceOf(AuthError);
    await expect(createTokenService({ ...options, key: attacker }).verifyAccessToken(token)).rejects.toBeInstanceOf(AuthError);
  });
});

describe('F8: token type', () => {
  it('rejects typ JWT, rt+jwt, a missing typ and a non-string typ', async () => {
    now = T0;
    await expectRejected(rs256(header({ typ: 'JWT' }), claims()), 'invalid_token', 'ERR_JWT_CLAIM_VALIDATION_FAILED');
    await expectRejected(rs256(header({ typ: 'rt+jwt' }), claims()));
    await expectRejected(rs256(without(header(), 'typ'), claims()));
    await expectRejected(rs256(header({ typ: ['at+jwt'] }), claims()));
  });

  it('rejects an opaque refresh token presented as an access token', async () => {
    await expectRejected(crypto.randomBytes(32).toString('base64url'));
  });
});

describe('F9: malformed', () => {
  it('rejects 2 and 4 segments', async () => {
    now = T0;
    const { token } = await service.issueAccessToken('user-1', 'session-1');
    const [h, p, s] = token.split('.');
    await expectRejected(`${h}.${p}`);
    await expectRejected(`${h}.${p}.${s}.${s}`);
    await expectRejected(`${token}.`);
  });

  it('rejects tokens longer than 8 KB before parsing, and accepts a large one under it', async () => {
    now = T0;
    const base = rs256(header(), claims({ pad: '' })).length;
    const fits = rs256(header(), claims({ pad: 'x'.repeat(Math.floor(((MAX_TOKEN_BYTES - base) * 3) / 4) - 4) }));
    expect(fits.length).toBeLessThanOrEqual(MAX_TOKEN_BYTES);
    await expect(service.verifyAccessToken(fits)).resolves.toMatchObject({ userId: 'user-1' });
    const tooLong = rs256(header(), claims({ pad: 'x'.repeat(MAX_TOKEN_BYTES) }));
    await expectRejected(tooLong, 'invalid_token', 'precheck');
    await expectRejected('a'.repeat(1_000_000));
  });

  it('rejects non-base64url characters, non-JSON parts, a crit extension, and non-strings', async () => {
    now = T0;
    const { token } = await service.issueAccessToken('user-1', 'session-1');
    const [h, p, s] = token.split('.') as [string, string, string];
    await expectRejected(`${h}.${p}+/.${s}`);
    await expectRejected(`${h}=.${p}.${s}`);
    await expectRejected(` ${token}`);
    await expectRejected(`${b64('not json')}.${p}.${s}`);
    await expectRejected(rs256(header(), ['not', 'an', 'object']));
    await expectRejected(rs256(header({ crit: ['exp-ext'], 'exp-ext': true }), claims()));
    for (const value of [undefined, null, 42, {}, ['a', 'b', 'c'], '']) await expectRejected(value);
  });
});

describe('remembered verifications', () => {
  /** A service whose key counts how often a signature check asks for it. */
  const counting = (verifiedTokens?: number) => {
    let lookups = 0;
    const watched = Object.create(key, {
      publicKey: { get: () => (lookups++, key.publicKey) },
    }) as SigningKey;
    const counted = createTokenService({
      key: watched,
      issuer: ISSUER,
      audience: AUDIENCE,
      accessTtlS: TTL,
      clock: () => now,
      ...(verifiedTokens === undefined ? {} : { verifiedTokens }),
    });
    return { counted, lookups: () => lookups };
  };

  it('a token presented again is not checked again, and still names its user', async () => {
    now = T0;
    const { counted, lookups } = counting();
    const { token } = await counted.issueAccessToken('user-r1', 'session-1');
    await expect(counted.verifyAccessToken(token)).resolves.toMatchObject({ userId: 'user-r1' });
    const afterFirst = lookups();
    await expect(counted.verifyAccessToken(token)).resolves.toMatchObject({ userId: 'user-r1' });
    expect(lookups()).toBe(afterFirst);
  });

  it('remembering never outlives the token: once it expires it is refused as expired', async () => {
    now = T0;
    const { counted } = counting();
    const { token } = await counted.issueAccessToken('user-r2', 'session-1');
    await counted.verifyAccessToken(token);
    now = T0 + (TTL + 6) * 1000; // past exp and the clock tolerance
    const error = await counted.verifyAccessToken(token).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).code).toBe('token_expired');
  });

  it('a token that differs from a remembered one by one character is checked, and refused', async () => {
    now = T0;
    const { counted } = counting();
    const { token } = await counted.issueAccessToken('user-r3', 'session-1');
    await counted.verifyAccessToken(token);
    // A character inside the signature (the last one may only carry padding bits).
    const at = token.length - 10;
    const tampered = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
    await expect(counted.verifyAccessToken(tampered)).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('a refused token is never remembered, and 0 turns remembering off', async () => {
    now = T0;
    const { counted, lookups } = counting(0);
    const { token } = await counted.issueAccessToken('user-r4', 'session-1');
    await counted.verifyAccessToken(token);
    await counted.verifyAccessToken(token);
    expect(lookups()).toBe(2);
    const forged = rs256(header(), claims(), 'theirs');
    const { counted: remembering } = counting();
    await expect(remembering.verifyAccessToken(forged)).rejects.toMatchObject({ code: 'invalid_token' });
    await expect(remembering.verifyAccessToken(forged)).rejects.toMatchObject({ code: 'invalid_token' });
  });
});
