/**
 * The request body is read last: a request whose token is refused, or that has none, gets its
 * 401 without the server waiting for (and buffering) its body; a Content-Length above the
 * configured limit gets 413 at once, as an OperationOutcome, before a byte of the body is read.
 * Each request below sends its headers and at most a few bytes of the body it announces, and
 * waits for the answer: a server that read the body first would never answer.
 */
import net from 'node:net';
import type { OperationOutcome } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDrivers } from '../helpers/db.ts';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

const LIMIT = 64 * 1024;

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends a request head announcing `contentLength` bytes, then only `sent` bytes of body, and
 * reads the answer (or fails after `timeoutMs` without one).
 */
function partialRequest(
  url: string,
  o: { method?: string; headers?: Record<string, string>; contentLength: number; sent: number; timeoutMs?: number },
): Promise<RawAnswer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(u.port), u.hostname);
    let data = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${o.timeoutMs ?? 3000} ms: the server waited for the body`));
    }, o.timeoutMs ?? 3000);
    const tryParse = (): void => {
      const text = data.toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const body = text.slice(end + 4);
      const length = Number(headers['content-length'] ?? NaN);
      if (Number.isFinite(length) && Buffer.byteLength(body) < length) return;
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    };
    socket.on('data', (d: Buffer) => {
      data = Buffer.concat([data, d]);
      tryParse();
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.on('connect', () => {
      const head = [
        `${o.method ?? 'POST'} ${u.pathname}${u.search} HTTP/1.1`,
        `Host: ${u.host}`,
        'Content-Type: application/fhir+json',
        `Content-Length: ${o.contentLength}`,
        ...Object.entries(o.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
        '',
        '',
      ].join('\r\n');
      socket.write(head);
      if (o.sent > 0) socket.write(Buffer.alloc(o.sent, 0x20));
    });
  });
}

describe.each(testDrivers())('the request body is read after authentication on %s', (driver) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(driver, { config: { maxBodyBytes: LIMIT } });
    useToken(s.token);
  });
  afterAll(async () => {
    await s.close();
  });

  const outcomeOf = (body: string): OperationOutcome => JSON.parse(body) as OperationOutcome;

  it('answers 401 invalid_token to a refused token without reading the body it announces', async () => {
    const res = await partialRequest(`${s.base}/Patient`, {
      headers: { Authorization: 'Bearer not-a-token' },
      contentLength: LIMIT - 1,
      sent: 10,
    });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
    expect(outcomeOf(res.body).resourceType).toBe('OperationOutcome');
  });

  it('answers 401 to a request without a token without reading the body it announces', async () => {
    const res = await partialRequest(`${s.base}/Patient`, { contentLength: LIMIT - 1, sent: 10 });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="medid"');
    expect(outcomeOf(res.body).resourceType).toBe('OperationOutcome');
  });

  it('answers 413 at once, as an OperationOutcome, when the Content-Length exceeds the configured limit', async () => {
    for (const headers of [{ Authorization: `Bearer ${s.token}` }, {}] as Record<string, string>[]) {
      const res = await partialRequest(`${s.base}/Patient`, { headers, contentLength: LIMIT + 1, sent: 0 });
      expect(res.status).toBe(413);
      expect(res.headers['connection']).toBe('close');
      const o = outcomeOf(res.body);
      expect(o.resourceType).toBe('OperationOutcome');
      expect(o.issue?.[0]?.details?.coding?.[0]?.code).toBe('payload-too-large');
    }
  });

  it('still reads the body of an authenticated request within the limit', async () => {
    const res = await fhirFetch(`${s.base}/Patient`, { method: 'POST', json: { resourceType: 'Patient', name: [{ family: 'Body' }] } });
    expect(res.status, res.text).toBe(201);
  });

  it('answers 413 to a chunked body that grows past the limit while it is read', async () => {
    const chunk = new TextEncoder().encode(' '.repeat(16 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= LIMIT * 2) controller.close();
        else {
          sent += chunk.length;
          controller.enqueue(chunk);
        }
      },
    });
    const res = await fetch(`${s.base}/Patient`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/fhir+json' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as OperationOutcome).issue?.[0]?.details?.coding?.[0]?.code).toBe('payload-too-large');
  });
});
