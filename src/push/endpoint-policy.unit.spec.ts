import { describe, expect, it } from 'vitest';
import { isPublicAddress } from '../infra/outbound-http.ts';
import { checkPushEndpoint } from './endpoint-policy.ts';

const refused = (endpoint: string, allow: string[] = []) => {
  const verdict = checkPushEndpoint(endpoint, allow);
  return verdict.ok ? null : verdict.reason;
};

describe('which push endpoints a device may subscribe with', () => {
  it('accepts https endpoints of the browsers’ push services', () => {
    for (const endpoint of [
      'https://fcm.googleapis.com/fcm/send/dQw4w9WgXcQ:APA91bH',
      'https://updates.push.services.mozilla.com/wpush/v2/gAAAAABh',
      'https://wns2-by3p.notify.windows.com/w/?token=BQYAAAB',
      'https://web.push.apple.com/QGuQyavXutnMH1b',
    ]) {
      expect(checkPushEndpoint(endpoint, [])).toEqual({ ok: true, allowListed: false });
    }
  });

  it('refuses everything else: other hosts, look-alikes, http, other ports, IP literals, credentials, non-URLs', () => {
    expect(refused('https://evil.example.com/push')).toBe('not a known push service');
    expect(refused('https://fcm.googleapis.com.evil.example/x')).toBe('not a known push service');
    expect(refused('https://notify.windows.com/x')).toBe('not a known push service');
    expect(refused('http://fcm.googleapis.com/fcm/send/x')).toBe('not https');
    expect(refused('https://fcm.googleapis.com:8443/fcm/send/x')).toBe('not the default https port');
    expect(refused('https://169.254.169.254/latest/meta-data')).toBe('an IP address, not a push service');
    expect(refused('https://[::1]/x')).toBe('an IP address, not a push service');
    expect(refused('https://user:pw@fcm.googleapis.com/x')).toBe('credentials in the URL');
    expect(refused('file:///etc/passwd')).toBe('not an http(s) URL');
    expect(refused('not a url')).toBe('not a URL');
    expect(refused(`https://fcm.googleapis.com/${'x'.repeat(2100)}`)).toMatch(/longer than/);
  });

  it('PARLEY_PUSH_ENDPOINT_ALLOW lets named hosts or origins in, http and private addresses included', () => {
    expect(checkPushEndpoint('http://127.0.0.1:4000/push/a', ['127.0.0.1'])).toEqual({ ok: true, allowListed: true });
    expect(checkPushEndpoint('http://127.0.0.1:4000/push/a', ['http://127.0.0.1:4000'])).toEqual({
      ok: true,
      allowListed: true,
    });
    expect(refused('http://127.0.0.1:4001/push/a', ['http://127.0.0.1:4000'])).toBe('not https');
    expect(checkPushEndpoint('https://push.internal/x', ['push.internal'])).toEqual({ ok: true, allowListed: true });
    expect(refused('http://user@127.0.0.1:4000/push', ['127.0.0.1'])).toBe('credentials in the URL');
  });
});

describe('which addresses a push may connect to', () => {
  it('public ones only', () => {
    for (const address of ['142.250.74.106', '2a00:1450:4001:82b::200a']) expect(isPublicAddress(address), address).toBe(true);
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '::1',
      '::',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      'not-an-address',
    ]) {
      expect(isPublicAddress(address), address).toBe(false);
    }
    expect(isPublicAddress('::ffff:142.250.74.106')).toBe(true);
  });
});
