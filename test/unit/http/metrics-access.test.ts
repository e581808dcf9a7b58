/**
 * Who may read `/metrics` (http/metrics-access.ts), decided from the socket's peer address and
 * the headers alone: the loopback rule against addresses no test can connect from, the
 * bearer comparison, and MEDID_METRICS parsing (a secret never repeated in an error).
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.ts';
import { isLoopbackAddress, metricsDecision, parseMetricsAccess, sameSecret } from '../../../src/http/metrics-access.ts';

const SECRET = 'k3y-for-prometheus-0001';

describe('the loopback rule', () => {
  it('counts 127.0.0.0/8 and ::1, also IPv4-mapped, as loopback', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', '::FFFF:127.0.0.9', '0:0:0:0:0:0:0:1'])
      expect(isLoopbackAddress(a), a).toBe(true);
  });

  it('counts every other address, and none, as outside', () => {
    for (const a of [
      undefined,
      '',
      '10.0.0.1',
      '192.0.2.2',
      '::ffff:10.0.0.1',
      'fe80::1',
      '::2',
      '128.0.0.1',
      '127.0.0.1.evil',
      '0.0.0.0',
      '::',
    ])
      expect(isLoopbackAddress(a), String(a)).toBe(false);
  });

  it('serves loopback peers without forwarding headers; anything else is not found', () => {
    const loopback = { mode: 'loopback' } as const;
    expect(metricsDecision(loopback, { remoteAddress: '127.0.0.1', headers: {} })).toBe('serve');
    expect(metricsDecision(loopback, { remoteAddress: '::1', headers: { accept: 'text/plain' } })).toBe('serve');
    expect(metricsDecision(loopback, { remoteAddress: '203.0.113.7', headers: {} })).toBe('not-found');
    expect(metricsDecision(loopback, { remoteAddress: undefined, headers: {} })).toBe('not-found');
    // A proxy on the same host connects from loopback on behalf of someone else.
    for (const h of ['forwarded', 'x-forwarded-for', 'x-real-ip'])
      expect(metricsDecision(loopback, { remoteAddress: '127.0.0.1', headers: { [h]: '203.0.113.7' } }), h).toBe('not-found');
    // A bearer secret does not open loopback mode from outside.
    expect(metricsDecision(loopback, { remoteAddress: '203.0.113.7', headers: { authorization: `Bearer ${SECRET}` } })).toBe('not-found');
  });

  it('off: not found, whoever asks', () => {
    expect(metricsDecision({ mode: 'off' }, { remoteAddress: '127.0.0.1', headers: {} })).toBe('not-found');
  });
});

describe('the bearer rule', () => {
  const bearer = { mode: 'bearer', secret: SECRET } as const;
  it('serves the right secret from any address, and asks for it otherwise', () => {
    expect(metricsDecision(bearer, { remoteAddress: '203.0.113.7', headers: { authorization: `Bearer ${SECRET}` } })).toBe('serve');
    expect(metricsDecision(bearer, { remoteAddress: '127.0.0.1', headers: { authorization: `bearer  ${SECRET}` } })).toBe('serve');
    for (const authorization of [
      undefined,
      '',
      'Bearer',
      `Bearer ${SECRET.slice(1)}`,
      `Bearer ${SECRET}0`,
      `Bearer ${SECRET} extra`,
      `Basic ${SECRET}`,
      SECRET,
      `Bearer ${SECRET.toUpperCase()}`,
    ])
      expect(metricsDecision(bearer, { remoteAddress: '127.0.0.1', headers: { authorization } }), String(authorization)).toBe(
        'unauthorized',
      );
    expect(metricsDecision(bearer, { remoteAddress: '127.0.0.1', headers: { authorization: [`Bearer ${SECRET}`] } })).toBe('unauthorized');
  });

  it('compares secrets of any length without throwing', () => {
    expect(sameSecret(SECRET, SECRET)).toBe(true);
    expect(sameSecret('', SECRET)).toBe(false);
    expect(sameSecret(`${SECRET}${SECRET}`, SECRET)).toBe(false);
  });
});

describe('MEDID_METRICS', () => {
  it('defaults to loopback, and reads off and bearer:<secret>', () => {
    expect(parseMetricsAccess(undefined)).toEqual({ mode: 'loopback' });
    expect(loadConfig({}).metrics).toEqual({ mode: 'loopback' });
    expect(loadConfig({ MEDID_METRICS: 'off' }).metrics).toEqual({ mode: 'off' });
    expect(loadConfig({ MEDID_METRICS: 'loopback' }).metrics).toEqual({ mode: 'loopback' });
    expect(loadConfig({ MEDID_METRICS: `bearer:${SECRET}` }).metrics).toEqual({ mode: 'bearer', secret: SECRET });
  });

  it('refuses a short or spaced secret and an unknown mode at start-up, without repeating the secret', () => {
    for (const raw of ['bearer:short-secret1', 'bearer:', `bearer:${SECRET} more`, 'on', 'Loopback', `token:${SECRET}`]) {
      let err: unknown;
      try {
        loadConfig({ MEDID_METRICS: raw });
      } catch (e) {
        err = e;
      }
      expect(err, raw).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain('MEDID_METRICS');
      expect((err as Error).message).not.toContain('short-secret1');
      expect((err as Error).message).not.toContain(SECRET);
    }
  });
});
