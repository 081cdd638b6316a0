// Access tokens: short-lived RS256 JWTs (RFC 9068 `at+jwt`). Verification
// follows RFC 8725: one pinned algorithm, our local key only, explicit type,
// issuer, audience and time checks, and a size cap before any parsing. Every
// failure is one of two stable codes; the reason stays in `cause` for logs.

import { createHash, randomUUID } from 'node:crypto';
import { errors, jwtVerify, SignJWT, type JWTHeaderParameters } from 'jose';
import { LRUCache } from 'lru-cache';
import { DEFAULT_VERIFIED_TOKENS } from '../config.ts';
import { AuthError } from './errors.ts';
import type { SigningKey } from './keys.ts';

export { AuthError, type AuthErrorCode } from './errors.ts';

/** Header `typ` of access tokens; other token kinds must use another. */
export const ACCESS_TOKEN_TYP = 'at+jwt';
/** Tokens longer than this are refused before they are decoded. */
export const MAX_TOKEN_BYTES = 8 * 1024;
/** Clock skew allowed between instances, seconds (exp, nbf, iat). */
export const CLOCK_TOLERANCE_S = 5;
/** Longest `sub` accepted (user ids are UUIDs). */
const MAX_SUBJECT_CHARS = 255;

// Three non-empty base64url segments. Rejects 2 or 4 segments, an empty
// signature (`alg: none` style) and stray characters without decoding.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export interface TokenServiceOptions {
  key: SigningKey;
  issuer: string;
  audience: string;
  accessTtlS: number;
  /**
   * Tokens remembered as verified (see verifyAccessToken); 0 turns the memory
   * off. Default PARLEY_VERIFIED_TOKENS's.
   */
  verifiedTokens?: number;
  /** Epoch milliseconds; tests inject one. */
  clock?: () => number;
}

export interface IssuedAccessToken {
  token: string;
  /** Seconds until it expires (the API's `expires_in`). */
  expires_in: number;
}

export interface VerifiedAccessToken {
  userId: string;
  /**
   * The login the token belongs to (its refresh-token family; claim `sid`),
   * which logout and a password change revoke (infra/session-revocations.ts).
   * null for a token issued before tokens named their session.
   */
  sessionId: string | null;
  /** Epoch ms when the token stops being valid (its exp, or iat + the access TTL if sooner). */
  expiresAt: number;
}

export interface TokenService {
  issueAccessToken(userId: string, sessionId: string): Promise<IssuedAccessToken>;
  /** Resolves the token's user or throws AuthError `invalid_token` / `token_expired`. */
  verifyAccessToken(token: unknown): Promise<VerifiedAccessToken>;
}

export function createTokenService(options: TokenServiceOptions): TokenService {
  const { key, issuer, audience, accessTtlS } = options;
  const clock = options.clock ?? Date.now;
  const capacity = options.verifiedTokens ?? DEFAULT_VERIFIED_TOKENS;
  // An RS256 verification costs ~130 µs of CPU here, and a client presents
  // the same token on every request and socket until it refreshes it. So a
  // token that passed every check is remembered — by its SHA-256, until the
  // earliest moment it would stop passing (exp, or iat + TTL), the least
  // recently used dropped first — and its next presentations cost one hash.
  // Nothing else changes: access tokens are not revocable before they expire
  // in any case. (lru-cache: a Map whose oldest entry is deleted at every store
  // walks the holes deleting leaves, ~6 µs a store at 10,000 tokens —
  // privacy/vault.ts.)
  const verified = capacity === 0 ? undefined : new LRUCache<string, VerifiedAccessToken>({ max: capacity });
  const remember = (digest: string, token: VerifiedAccessToken) => verified?.set(digest, token);
  if (!Number.isInteger(accessTtlS) || accessTtlS <= 0) throw new RangeError('accessTtlS must be a positive integer');

  // The key comes from configuration, never from the token. A token whose kid
  // is not ours cannot have been signed by us: refuse it before the signature
  // check, with no lookup of any kind.
  const resolveKey = (header: JWTHeaderParameters) => {
    if (header.kid !== key.kid) throw new errors.JWSSignatureVerificationFailed('unknown kid');
    return key.publicKey;
  };

  return {
    async issueAccessToken(userId, sessionId) {
      if (typeof userId !== 'string' || userId === '' || userId.length > MAX_SUBJECT_CHARS) {
        throw new TypeError('issueAccessToken: userId must be a non-empty string');
      }
      const iat = Math.floor(clock() / 1000);
      const token = await new SignJWT({ sid: sessionId })
        .setProtectedHeader({ alg: 'RS256', typ: ACCESS_TOKEN_TYP, kid: key.kid })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject(userId)
        .setIssuedAt(iat)
        .setExpirationTime(iat + accessTtlS)
        .setJti(randomUUID())
        .sign(key.privateKey);
      return { token, expires_in: accessTtlS };
    },

    async verifyAccessToken(token) {
      if (typeof token !== 'string' || token.length > MAX_TOKEN_BYTES || !COMPACT_JWS.test(token)) {
        throw new AuthError('invalid_token');
      }
      const digest = createHash('sha256').update(token).digest('base64');
      const known = verified?.get(digest);
      if (known !== undefined) {
        if (clock() < known.expiresAt) return known;
        verified?.delete(digest); // expired: the full check below says so
      }
      let payload;
      try {
        ({ payload } = await jwtVerify(token, resolveKey, {
          algorithms: ['RS256'],
          issuer,
          audience,
          typ: ACCESS_TOKEN_TYP,
          requiredClaims: ['exp', 'iat', 'sub', 'jti'],
          clockTolerance: CLOCK_TOLERANCE_S,
          // Also refuses an iat in the future (beyond the tolerance) and a token
          // older than any we issue, whatever its exp says.
          maxTokenAge: accessTtlS,
          currentDate: new Date(clock()),
        }));
      } catch (error) {
        // jose checks the signature before any claim, so `token_expired` is
        // only ever said about a token we really issued.
        const code = error instanceof errors.JWTExpired ? 'token_expired' : 'invalid_token';
        throw new AuthError(code, undefined, { cause: error });
      }
      const { sub, exp, iat, sid } = payload;
      if (typeof sub !== 'string' || sub === '' || sub.length > MAX_SUBJECT_CHARS) throw new AuthError('invalid_token');
      if (sid !== undefined && (typeof sid !== 'string' || sid === '' || sid.length > MAX_SUBJECT_CHARS)) {
        throw new AuthError('invalid_token');
      }
      // jwtVerify required both claims; the later of the two limits never counts.
      const verifiedToken = { userId: sub, sessionId: sid ?? null, expiresAt: Math.min(exp!, iat! + accessTtlS) * 1000 };
      remember(digest, verifiedToken);
      return verifiedToken;
    },
  };
}
