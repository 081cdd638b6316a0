// The original Go service's variable names, read as documented aliases of
// Parley's own (README, "Configuration"): an `.env` written for it starts
// Parley unchanged. A Parley name that is set wins over its alias. JWT_SECRET
// has no counterpart — Parley signs with an RS256 key — so it stops the start
// with how to provide one, instead of being silently ignored.

type Env = Record<string, string | undefined>;

/** Go's time.Duration text ("24h", "1h30m", "90s", "500ms") or plain seconds, as whole seconds. */
export function goDurationSeconds(text: string): number {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== trimmed) {
    throw new Error(`not a duration: '${text}' (expected e.g. 24h, 15m, 3600s)`);
  }
  return Math.round(parts.reduce((sum, [, amount, unit]) => sum + Number(amount) * units[unit!]!, 0));
}

const credentials = (user: string | undefined, password: string | undefined): string => {
  if (user === undefined && password === undefined) return '';
  const pass = password === undefined || password === '' ? '' : `:${encodeURIComponent(password)}`;
  return `${encodeURIComponent(user ?? '')}${pass}@`;
};

/**
 * `env` with Parley's names filled in from the Go service's, where Parley's
 * are unset. Throws on JWT_SECRET and on a half-given Cloudinary account.
 */
export function withGoServiceAliases(env: Env): Env {
  if (env.JWT_SECRET !== undefined) {
    throw new Error(
      'JWT_SECRET is not used: Parley signs tokens with an RS256 key, not a shared secret. ' +
        'Remove JWT_SECRET. One instance creates its key in the data dir (jwt-signing-key.json) at first start; ' +
        'several instances share one through PARLEY_JWT_PRIVATE_KEY (a PEM or JWK RSA private key, ' +
        'e.g. `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`).',
    );
  }
  const aliased: Env = {};
  if (env.SERVER_PORT !== undefined) aliased.PORT = env.SERVER_PORT;
  if (env.DB_HOST !== undefined) {
    const port = env.DB_PORT ?? '3306';
    aliased.DATABASE_URL = `mysql://${credentials(env.DB_USER, env.DB_PASSWORD)}${env.DB_HOST}:${port}/${env.DB_NAME ?? 'parley'}`;
  }
  if (env.REDIS_HOST !== undefined) {
    const password =
      env.REDIS_PASSWORD === undefined || env.REDIS_PASSWORD === '' ? '' : `:${encodeURIComponent(env.REDIS_PASSWORD)}@`;
    aliased.REDIS_URL = `redis://${password}${env.REDIS_HOST}:${env.REDIS_PORT ?? '6379'}/${env.REDIS_DB ?? '0'}`;
  }
  const cloudinary = ['CLOUDINARY_CLOUD_NAME', 'CLOUDINARY_API_KEY', 'CLOUDINARY_API_SECRET'] as const;
  const given = cloudinary.filter((name) => env[name] !== undefined && env[name] !== '');
  if (given.length === cloudinary.length) {
    const [cloud, key, secret] = cloudinary.map((name) => encodeURIComponent(env[name]!));
    aliased.CLOUDINARY_URL = `cloudinary://${key}:${secret}@${cloud}`;
  } else if (given.length > 0) {
    const missing = cloudinary.filter((name) => !given.includes(name));
    throw new Error(`${given.join(', ')} set without ${missing.join(', ')}: a Cloudinary account needs all three`);
  }
  if (env.JWT_EXPIRATION !== undefined) aliased.PARLEY_ACCESS_TTL_S = String(goDurationSeconds(env.JWT_EXPIRATION));
  // Parley's own names win.
  const fromAliases = Object.fromEntries(Object.entries(aliased).filter(([name]) => env[name] === undefined));
  return { ...env, ...fromAliases };
}
