// Outages are not bugs: a lagging read model and an unreachable dependency
// answer 503 with Retry-After, never 500.

import { describe, expect, it } from 'vitest';
import { ReadModelLagging } from '../commands/execute.ts';
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

  it('an ordinary bug stays a 500 internal with a generic message', () => {
    const error = toApiError(new TypeError('cannot read properties of undefined'));
    expect(error.status).toBe(500);
    expect(error.message).toBe('internal error');
  });
});
