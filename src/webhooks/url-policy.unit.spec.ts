// Which URLs a webhook may reach: public http(s) hosts; private and loopback
// addresses only where PARLEY_WEBHOOK_ALLOW_PRIVATE lists them.

import { describe, expect, it } from 'vitest';
import { checkWebhookUrl } from './url-policy.ts';

const MAX = 2048;

describe('checkWebhookUrl', () => {
  it('accepts public http(s) URLs, to be checked again after DNS at each delivery', () => {
    for (const url of ['https://hooks.example.com/parley', 'http://example.org:8080/in?token=abc', 'https://203.0.114.9/x']) {
      expect(checkWebhookUrl(url, [], MAX), url).toEqual({ ok: true, allowListed: false });
    }
  });

  it('refuses private, loopback, link-local and reserved addresses, and localhost', () => {
    for (const url of [
      'http://127.0.0.1/hook',
      'http://10.0.0.1/hook',
      'http://192.168.1.1/hook',
      'http://172.16.5.4/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]:8080/hook',
      'http://[fd00::1]/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://0.0.0.0/hook',
      'http://localhost:3000/hook',
      'http://api.localhost/hook',
    ]) {
      expect(checkWebhookUrl(url, [], MAX), url).toMatchObject({ ok: false });
    }
  });

  it('lets PARLEY_WEBHOOK_ALLOW_PRIVATE name hosts or origins, and only those', () => {
    expect(checkWebhookUrl('http://127.0.0.1:9000/hook', ['127.0.0.1'], MAX)).toEqual({ ok: true, allowListed: true });
    expect(checkWebhookUrl('http://10.0.0.5:8080/x', ['http://10.0.0.5:8080'], MAX)).toEqual({ ok: true, allowListed: true });
    expect(checkWebhookUrl('http://10.0.0.5:8081/x', ['http://10.0.0.5:8080'], MAX)).toMatchObject({ ok: false });
    expect(checkWebhookUrl('http://10.0.0.6/x', ['127.0.0.1'], MAX)).toMatchObject({ ok: false });
  });

  it('refuses what is not an http(s) URL, credentials in it, and overlong ones', () => {
    expect(checkWebhookUrl('not a url', [], MAX)).toEqual({ ok: false, reason: 'not a URL' });
    expect(checkWebhookUrl('ftp://example.com/x', [], MAX)).toEqual({ ok: false, reason: 'not an http(s) URL' });
    expect(checkWebhookUrl('https://user:pw@example.com/x', [], MAX)).toEqual({ ok: false, reason: 'credentials in the URL' });
    expect(checkWebhookUrl(`https://example.com/${'a'.repeat(MAX)}`, [], MAX)).toMatchObject({ ok: false });
    // Credentials are refused even for an allow-listed host (they would be sent along).
    expect(checkWebhookUrl('http://u:p@127.0.0.1/x', ['127.0.0.1'], MAX)).toMatchObject({ ok: false });
  });
});
