import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signature } from './request-signature.ts';

describe('the request signature (webhooks, pre-send hook)', () => {
  it('is t=<unix s>,v1=<HMAC-SHA256 of "<t>.<body>"> under the secret', () => {
    const at = Date.parse('2026-12-05T12:00:00Z');
    const body = '{"content":"hé"}';
    const expected = crypto
      .createHmac('sha256', 's3cret')
      .update(`${at / 1000}.${body}`)
      .digest('hex');
    expect(signature('s3cret', body, at)).toBe(`t=${at / 1000},v1=${expected}`);
    expect(signature('other', body, at)).not.toBe(signature('s3cret', body, at));
  });
});
