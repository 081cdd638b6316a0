// Auth routes (API.md "Auth"): register, login, refresh, logout, and the JWKS.
// Registration itself (credentials, reservations, the user) is registration.ts's.

import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type { Middleware, ParameterizedContext } from 'koa';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { CommandExecutor } from '../commands/execute.ts';
import { personalText, uuid } from '../commands/inputs.ts';
import type { Config } from '../config.ts';
import { Rejection } from '../domain/decider.ts';
import { userIdOf, type AppState } from '../http/auth-middleware.ts';
import { ApiError } from '../http/errors.ts';
import { pageLimitSchema, parseBody, parseQuery } from '../http/validate.ts';
import type { RateLimiter } from '../infra/rate-limiter.ts';
import type { Mailer } from '../infra/mailer.ts';
import { revokeWhileTokensLive, type SessionRevocations } from '../infra/session-revocations.ts';
import type { PersonalDataVault } from '../privacy/vault.ts';
import { emailRegistered, findUserById } from '../queries/users-queries.ts';
import type { Database } from '../store/schema.ts';
import { deleteAccount } from './account-deletion.ts';
import { createRegistration } from './registration.ts';
import { createEmailConfirmation } from './email-confirmation.ts';
import { createPasswordReset } from './password-reset.ts';
import { credentialsForLogin, passwordHashOf, updatePasswordHash } from './credentials.ts';
import { AuthError } from './errors.ts';
import { normalizeUsername, usernameSchema } from './usernames.ts';
import { jwks, type SigningKey } from './keys.ts';
import { checkStoredPassword, spendFailedCheck } from './password-check.ts';
import { beforeCursorSchema } from '../queries/time-cursor.ts';
import { liveBotTokenIds } from './bot-tokens.ts';
import { liftSuspension, readAudit, refuseSuspended, requireAdmin, suspendAccount } from './suspension.ts';
import { hashPassword, passwordSchema } from './passwords.ts';
import type { RefreshTokens } from './refresh-tokens.ts';
import type { TokenService } from './tokens.ts';

const emailSchema = z.string().trim().max(320).toLowerCase().pipe(z.email());

export const registerBody = z.strictObject({
  username: usernameSchema,
  email: emailSchema,
  password: passwordSchema,
  display_name: personalText().trim().min(1).max(100).optional(),
});
export const loginBody = z.strictObject({ login: z.string().min(1).max(320), password: z.string().min(1).max(1024) });
export const refreshBody = z.strictObject({ refresh_token: z.string().min(1).max(512) });
export const passwordConfirmation = z.strictObject({ password: z.string().min(1).max(1024) });
export const passwordChange = z.strictObject({ current_password: z.string().min(1).max(1024), new_password: passwordSchema });
export const passwordResetBody = z.strictObject({ email: emailSchema });
export const verifyEmailBody = z.strictObject({ token: z.string().min(1).max(256) });
export const emailChange = z.strictObject({ email: emailSchema, password: z.string().min(1).max(1024) });

/** The admin routes' body and query schemas; exported so the OpenAPI document uses the same ones. */
export function adminInputs(config: Pick<Config, 'PARLEY_SUSPENSION_REASON_MAX' | 'PARLEY_PAGE_DEFAULT' | 'PARLEY_PAGE_MAX'>) {
  return {
    suspensionBody: z.strictObject({
      reason: z.string().trim().min(1).max(config.PARLEY_SUSPENSION_REASON_MAX),
      until: z
        .number()
        .int()
        .positive()
        .nullable()
        .default(null)
        .refine((until) => until === null || until > Date.now(), { error: 'must be in the future' }),
    }),
    auditQuery: z.strictObject({ before: beforeCursorSchema, limit: pageLimitSchema(config) }),
  };
}
export const passwordResetConfirmBody = z.strictObject({ token: z.string().min(1).max(256), new_password: passwordSchema });

export function authRoutes(options: {
  config: Config;
  db: Kysely<Database>;
  executor: CommandExecutor;
  tokens: TokenService;
  refreshTokens: RefreshTokens;
  signingKey: SigningKey;
  limiter: RateLimiter;
  vault: PersonalDataVault;
  requireUser: Middleware<AppState>;
  revocations: SessionRevocations;
  mailer: Mailer;
  /** The origin of the links mailed (config.ts `publicOrigin`), never the request's Host header. */
  publicOrigin: () => string;
  logger: Logger;
}): Router {
  const { config, db, executor, tokens, refreshTokens, limiter, vault } = options;
  const router = new Router();
  const register = createRegistration({ db, executor, vault, logger: options.logger });

  async function limit(key: string, max: number, windowS: number) {
    const decision = await limiter.hit(key, max, windowS);
    if (!decision.allowed) {
      throw new ApiError(429, 'rate_limited', 'too many attempts; try again later', undefined, {
        headers: { 'Retry-After': String(decision.retryAfterS) },
      });
    }
  }

  /** A login's tokens: a new session, or (after a refresh) the next ones of `existing`. */
  async function session(userId: string, existing?: { sessionId: string; refreshToken: string }) {
    const user = await findUserById(db, userId);
    if (user === undefined) throw new AuthError('invalid_token', 'user not found');
    // No session starts while the account is suspended (login, refresh).
    await refuseSuspended(db, userId);
    const sessionId = existing?.sessionId ?? randomUUID();
    const access = await tokens.issueAccessToken(userId, sessionId);
    return {
      user,
      access_token: access.token,
      refresh_token: existing?.refreshToken ?? (await refreshTokens.issue(userId, sessionId)),
      token_type: 'Bearer',
      expires_in: access.expires_in,
    };
  }

  router.get('/.well-known/jwks.json', (ctx) => {
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = jwks(options.signingKey);
  });

  router.post('/api/v1/auth/register', async (ctx) => {
    // The per-IP limit is the route's: `parley seed` registers in-process, without it.
    await limit(`register:ip:${ctx.ip}`, config.PARLEY_REGISTER_MAX_PER_IP, config.PARLEY_REGISTER_WINDOW_S);
    const body = parseBody(ctx, registerBody);
    const userId = await register(body, await hashPassword(body.password, config.PARLEY_BCRYPT_COST));
    emailConfirmation.send(userId, body.email, options.publicOrigin());
    ctx.status = 201;
    ctx.body = await session(userId);
  });

  router.post('/api/v1/auth/login', async (ctx) => {
    const body = parseBody(ctx, loginBody);
    const login = body.login.includes('@') ? body.login.trim().toLowerCase() : normalizeUsername(body.login);
    const credentials = await credentialsForLogin(db, login);
    // The account, not its spelling: a username and its email share one pair.
    // Unknown logins are keyed by what was typed.
    const attempt = await guardAttempt(ctx.ip, credentials?.id ?? login);
    const valid =
      credentials === undefined
        ? await spendFailedCheck(body.password, config.PARLEY_BCRYPT_COST) // what a real failed check spends: no timing oracle
        : await checkStoredPassword(db, credentials, body.password, config.PARLEY_BCRYPT_COST);
    if (!valid || credentials === undefined) {
      throw new ApiError(401, 'invalid_credentials', 'wrong login or password');
    }
    await attempt.succeeded();
    ctx.body = await session(credentials.id);
  });

  /**
   * A password attempt from `ip` on `account` (an id, or the login typed for an
   * unknown one): 429 with Retry-After while the IP has spent its failure budget
   * or the (account, IP) pair sits out a back-off delay. The attempt counts as a
   * failure until succeeded() says otherwise, so parallel guesses cannot slip
   * past (rate-limiter.ts). Never keyed by the account alone: failures from one
   * IP never refuse the owner at another.
   */
  async function guardAttempt(ip: string, account: string): Promise<{ succeeded(): Promise<void> }> {
    const ipKey = `login:ip:${ip}`;
    await limit(ipKey, config.PARLEY_LOGIN_MAX_FAILURES_PER_IP, config.PARLEY_LOGIN_WINDOW_S);
    const pairKey = `login:pair:${account}:${ip}`;
    const decision = await limiter.attempt(pairKey, {
      freeFailures: config.PARLEY_LOGIN_FREE_FAILURES,
      firstDelayS: config.PARLEY_LOGIN_FIRST_DELAY_S,
      maxDelayS: config.PARLEY_LOGIN_MAX_DELAY_S,
      memoryS: config.PARLEY_LOGIN_FAILURE_MEMORY_S,
    });
    if (!decision.allowed) {
      // Not a failure of the IP's budget: no password was checked.
      await limiter.forgive(ipKey);
      throw new ApiError(429, 'rate_limited', 'too many attempts; try again later', undefined, {
        headers: { 'Retry-After': String(decision.retryAfterS) },
      });
    }
    return {
      async succeeded() {
        await limiter.reset(pairKey);
        await limiter.forgive(ipKey);
      },
    };
  }

  router.post('/api/v1/auth/refresh', async (ctx) => {
    const body = parseBody(ctx, refreshBody);
    const rotated = await refreshTokens.rotate(body.refresh_token);
    ctx.body = await session(rotated.userId, { sessionId: rotated.familyId, refreshToken: rotated.token });
  });

  // Deleting one's own account: the password again, as for any act that cannot
  // be undone, on the login's attempt budget.
  router.delete('/api/v1/users/me', options.requireUser, async (ctx) => {
    const userId = userIdOf(ctx);
    const body = parseBody(ctx, passwordConfirmation);
    await checkPassword(userId, body.password, ctx.ip);
    await deleteAccount(
      {
        db,
        executor,
        endSessions,
        vault,
        mailer: options.mailer,
        usernameCoolingOffS: config.PARLEY_USERNAME_COOLING_OFF_S,
        logger: options.logger,
      },
      userId,
    );
    ctx.status = 204;
  });

  router.post('/api/v1/auth/logout', async (ctx) => {
    const body = parseBody(ctx, refreshBody);
    const ended = await refreshTokens.revokeFamilyOf(body.refresh_token);
    // Its access tokens stop too, and its sockets close (every gateway hears of it).
    if (ended !== null) await revokeSessions([ended.familyId]);
    ctx.status = 204;
  });

  /** Ends sessions now: their refresh tokens are already revoked; their access tokens and sockets follow. */
  function revokeSessions(sessionIds: readonly string[]): Promise<void> {
    return revokeWhileTokensLive(options.revocations, sessionIds, config.PARLEY_ACCESS_TTL_S);
  }

  /**
   * Ends every session of a user but `keep`: refresh tokens, access tokens and
   * sockets — a bot's sockets too (its tokens stay; they authenticate nothing
   * while it is suspended or once it is deleted).
   */
  async function endSessions(userId: string, keep: string | null = null): Promise<void> {
    const ended = (await refreshTokens.liveFamiliesOf(userId)).filter((familyId) => familyId !== keep);
    for (const familyId of ended) await refreshTokens.revokeFamily(familyId);
    await revokeSessions([...ended, ...(await liveBotTokenIds(db, userId))]);
  }

  // A forgotten password: a one-time link to the account's email (password-reset.ts).
  // The answer is the same whether or not an account has the address.
  const passwordReset = createPasswordReset({
    db,
    mailer: options.mailer,
    executor,
    endSessions,
    ttlS: config.PARLEY_PASSWORD_RESET_TTL_S,
    bcryptCost: config.PARLEY_BCRYPT_COST,
    logger: options.logger,
  });

  router.post('/api/v1/auth/password-reset', async (ctx) => {
    const window = config.PARLEY_PASSWORD_RESET_WINDOW_S;
    await limit(`reset:ip:${ctx.ip}`, config.PARLEY_PASSWORD_RESET_MAX_PER_IP, window);
    const { email } = parseBody(ctx, passwordResetBody);
    // Per address too, silently: nobody fills someone's inbox with resets.
    const perAddress = await limiter.hit(`reset:email:${email}`, config.PARLEY_PASSWORD_RESET_MAX_PER_EMAIL, window);
    if (perAddress.allowed) passwordReset.request(email, options.publicOrigin());
    ctx.status = 202;
    ctx.body = { status: 'accepted', message: 'if an account has this email, a reset link is on its way' };
  });

  router.post('/api/v1/auth/password-reset/confirm', async (ctx) => {
    const body = parseBody(ctx, passwordResetConfirmBody);
    await passwordReset.confirm(body.token, body.new_password);
    ctx.status = 204;
  });

  // An email confirmed by the link mailed to it: the registration's, or a new one (email-confirmation.ts).
  const emailConfirmation = createEmailConfirmation({
    db,
    mailer: options.mailer,
    executor,
    vault,
    ttlS: config.PARLEY_EMAIL_CONFIRMATION_TTL_S,
    logger: options.logger,
  });

  router.post('/api/v1/auth/verify-email', async (ctx) => {
    const body = parseBody(ctx, verifyEmailBody);
    await emailConfirmation.confirm(body.token);
    ctx.status = 204;
  });

  // Changing one's email: the password again; the change happens when the link mailed to the new address is followed.
  router.post('/api/v1/users/me/email', options.requireUser, async (ctx) => {
    const userId = userIdOf(ctx);
    const body = parseBody(ctx, emailChange);
    await checkPassword(userId, body.password, ctx.ip);
    if (await emailRegistered(db, body.email)) throw new Rejection('email_taken', 'email is already taken');
    emailConfirmation.send(userId, body.email, options.publicOrigin());
    ctx.status = 202;
    ctx.body = { status: 'accepted', message: 'a confirmation link is on its way to the new address' };
  });

  // A password change: the current password again; every other session ends.
  router.post('/api/v1/users/me/password', options.requireUser, async (ctx) => {
    const userId = userIdOf(ctx);
    const body = parseBody(ctx, passwordChange);
    await checkPassword(userId, body.current_password, ctx.ip);
    await updatePasswordHash(db, userId, await hashPassword(body.new_password, config.PARLEY_BCRYPT_COST), Date.now());
    await endSessions(userId, ctx.state.sessionId ?? null);
    // The log says that the password changed, never what it is.
    await executor.executeFor(userId, { type: 'change_password', data: { user_id: userId } });
    ctx.status = 204;
  });

  // Global admins (PARLEY_ADMINS): suspending accounts, and the audit of what admins did.
  const { suspensionBody, auditQuery } = adminInputs(config);
  const suspensions = { db, executor, vault, endSessions: (userId: string) => endSessions(userId) };
  const asAdmin = async (ctx: ParameterizedContext<AppState>) => {
    const adminId = userIdOf(ctx);
    await requireAdmin(db, config.PARLEY_ADMINS, adminId);
    return adminId;
  };

  router.put('/api/v1/admin/users/:user_id/suspension', options.requireUser, async (ctx) => {
    const adminId = await asAdmin(ctx);
    const userId = uuid.parse(ctx.params.user_id);
    const body = parseBody(ctx, suspensionBody);
    ctx.body = await suspendAccount(suspensions, adminId, userId, body);
  });

  router.delete('/api/v1/admin/users/:user_id/suspension', options.requireUser, async (ctx) => {
    const adminId = await asAdmin(ctx);
    await liftSuspension(suspensions, adminId, uuid.parse(ctx.params.user_id));
    ctx.status = 204;
  });

  router.get('/api/v1/admin/audit', options.requireUser, async (ctx) => {
    await asAdmin(ctx);
    ctx.body = await readAudit(db, parseQuery(ctx, auditQuery));
  });

  /** The user's password, on the login's attempt budget from `ip`; 401 invalid_credentials when wrong. */
  async function checkPassword(userId: string, password: string, ip: string): Promise<void> {
    const attempt = await guardAttempt(ip, userId);
    const hash = await passwordHashOf(db, userId);
    if (
      hash === undefined ||
      !(await checkStoredPassword(db, { id: userId, password_hash: hash }, password, config.PARLEY_BCRYPT_COST))
    ) {
      throw new ApiError(401, 'invalid_credentials', 'wrong password');
    }
    await attempt.succeeded();
  }

  return router;
}
