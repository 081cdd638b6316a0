import { describe, expect, it } from 'vitest';
import { outcomeOf, retryAfterMs } from './push-transport.ts';

describe('what a push service’s answer means', () => {
  it('2xx delivered; 404 and 410 gone; 429 and 5xx retried; other 4xx refused', () => {
    expect(outcomeOf(201, '', undefined)).toEqual({ kind: 'delivered' });
    expect(outcomeOf(410, '', undefined)).toEqual({ kind: 'gone', status: 410 });
    expect(outcomeOf(404, '', undefined)).toEqual({ kind: 'gone', status: 404 });
    expect(outcomeOf(429, '', '7')).toEqual({ kind: 'retry', status: 429, retryAfterMs: 7000, error: null });
    expect(outcomeOf(503, '', undefined)).toMatchObject({ kind: 'retry', status: 503, retryAfterMs: null });
    expect(outcomeOf(413, 'payload too large', undefined)).toEqual({ kind: 'refused', status: 413, body: 'payload too large' });
    expect(outcomeOf(403, 'x'.repeat(2000), undefined)).toMatchObject({ kind: 'refused', status: 403 });
    expect((outcomeOf(403, 'x'.repeat(2000), undefined) as { body: string }).body).toHaveLength(512);
  });

  it('reads Retry-After as seconds or as a date', () => {
    const now = Date.parse('2026-12-05T12:00:00Z');
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs('Sat, 05 Dec 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('soon', now)).toBeNull();
    expect(retryAfterMs(undefined, now)).toBeNull();
  });
});
