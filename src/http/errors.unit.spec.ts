// Outages are not bugs: a lagging read model and an unreachable dependency
// answer 503 with Retry-After, never 500.

import { describe, expect, it } from 'vitest';
import { AuthError } from '../auth/errors.ts';
import { CommandTimeout } from '../commands/command-bus.ts';
import { ReadModelLagging } from '../commands/execute.ts';
import { Rejection } from '../domain/decider.ts';
import { AppendUnconfirmed } from '../log/kafka/appender.ts';
import { toApiError } from './errors.ts';

describe('toApiError for outages', () => {
  it('a read model that has not caught up → 503 read_model_lagging with Retry-After', () => {
    const error = toApiError(new ReadModelLagging());
    expect(error.status).toBe(503);
    expect(error.code).toBe('read_model_lagging');
    expect(error.headers['Retry-After']).toBe('1');
  });

  it.each(['ECONNREFUSED', 'PROTOCOL_CONNECTION_LOST', 'ETIMEDOUT'])('a connection failure (%s) → 503 unavailable', (code) => {
    const error = toApiError(Object.assign(new Error(`connect ${code} 127.0.0.1:3306`), { code }));
    expect(error.status).toBe(503);
    expect(error.code).toBe('unavailable');
    expect(error.message).not.toContain('3306');
  });

  it.each([
    [
      'mysql2, the connection closed under it',
      Object.assign(new Error("Can't add new command when connection is in closed state"), { fatal: true }),
    ],
    ['ioredis, a connection dropped for silence', new Error("Socket timeout. Expecting data, but didn't receive any in 3000ms.")],
  ])('a lost connection (%s) → 503 unavailable', (_, cause) => {
    expect(toApiError(cause)).toMatchObject({ status: 503, code: 'unavailable' });
  });

  it('an append the log did not confirm (brokers away, too few in sync) → 503 unavailable with Retry-After', () => {
    const cause = Object.assign(new Error('Messages are rejected since there are fewer in-sync replicas than required'), {
      type: 'NOT_ENOUGH_REPLICAS',
    });
    const error = toApiError(new AppendUnconfirmed('parley.commands', cause));
    expect(error).toMatchObject({ status: 503, code: 'unavailable' });
    expect(error.headers['Retry-After']).toBe('2');
    expect(error.message).not.toContain('in-sync');
  });

  it('an ordinary bug stays a 500 internal with a generic message', () => {
    const error = toApiError(new TypeError('cannot read properties of undefined'));
    expect(error.status).toBe(500);
    expect(error.message).toBe('internal error');
  });
});

describe('toApiError matches errors by class, not by name', () => {
  it('a command whose outcome did not arrive → 503 unavailable with Retry-After (a retry is safe)', () => {
    const error = toApiError(new CommandTimeout('c-1'));
    expect(error).toMatchObject({ status: 503, code: 'unavailable' });
    expect(error.headers['Retry-After']).toBe('1');
  });

  it('an AuthError → 401 with its code, a fixed message and the Bearer challenge', () => {
    const error = toApiError(new AuthError('token_expired', 'jwt expired at 12:00 (jose says so)'));
    expect(error).toMatchObject({ status: 401, code: 'token_expired', message: 'the access token has expired' });
    expect(error.headers['WWW-Authenticate']).toBe('Bearer error="invalid_token"');
  });

  it('a domain rejection → its mapped status, code and details', () => {
    const error = toApiError(new Rejection('user_not_found', 'unknown user', { user_ids: ['u-1'] }));
    expect(error).toMatchObject({ status: 404, code: 'user_not_found', details: { user_ids: ['u-1'] } });
  });

  it.each(['CommandTimeout', 'ReadModelLagging', 'AuthError', 'Rejection'])(
    'an unrelated error that merely calls itself %s is a 500, not a client error',
    (name) => {
      const impostor = Object.assign(new Error('something broke'), { name, code: 'invalid_token' });
      expect(toApiError(impostor)).toMatchObject({ status: 500, code: 'internal' });
    },
  );
});
