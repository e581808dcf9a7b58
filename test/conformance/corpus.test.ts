/**
 * Resources written by others, fed to the server: every R4 specification example and every JP
 * Core example is written, read back and compared exactly (decimal precision included), and
 * `$validate` must agree with the write, and each goes out and back in as XML unchanged. The
 * refusals expected are few, each with its reason.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corpusExamples, exactJson, warnNoCorpus } from '../helpers/corpus.ts';
import type { CorpusExample } from '../helpers/corpus.ts';
import { testDrivers } from '../helpers/db.ts';
import { fhirFetch, useToken } from '../helpers/fhir.ts';
import { startTestServer } from '../helpers/server.ts';
import type { TestServer } from '../helpers/server.ts';

/** Refused by policy, not by validation: the server writes AuditEvents itself. */
const byPolicy = (e: CorpusExample): boolean => e.resource.resourceType === 'AuditEvent';

/** Examples the server refuses, and why. Everything else must be stored as written. */
const EXPECTED_REFUSALS: Record<string, { status: number; why: string }> = {
  ...Object.fromEntries(
    ['activitydefinition-servicerequest-example.json', 'activitydefinition-supplyrequest-example.json', 'eventdefinition-example.json'].map(
      (f) => [
        `fhir-r4-examples/${f}`,
        { status: 400, why: 'txt-2: the narrative div holds only whitespace ("SHALL have some non-whitespace content")' },
      ],
    ),
  ),
  'jp-core-examples/Coverage-jp-coverage-example-1.json': {
    status: 422,
    why: 'insured member id 00012345: the check digit of 0001234 is 4, not 5 (and its contained payer has a 5-digit insurer number)',
  },
  'jp-core-examples/Organization-jp-organization-example-payer.json': {
    status: 422,
    why: 'insurer number 07654321: the check digit of 0765432 is 0, not 1',
  },
};

function expectedStatus(e: CorpusExample): string | undefined {
  if (byPolicy(e)) return '405';
  const r = EXPECTED_REFUSALS[e.name];
  return r ? String(r.status) : undefined;
}

/** The server sets these; everything else must read back as written. */
function withoutServerMeta(r: unknown): unknown {
  const o = r as { meta?: Record<string, unknown> };
  if (!o.meta) return r;
  const { versionId: _v, lastUpdated: _l, ...meta } = o.meta;
  return Object.keys(meta).length > 0 ? { ...o, meta } : (({ meta: _m, ...rest }) => rest)(o);
}

interface Written {
  example: CorpusExample;
  status: number;
  location?: string;
  outcome?: OperationOutcome;
  /** The stored resource read back at once (two examples may share a type and id). */
  readBack?: string;
}

const examples = corpusExamples();
if (examples.length === 0) warnNoCorpus('test/conformance/corpus.test.ts');

describe.skipIf(examples.length === 0).each(testDrivers())('the corpus on %s', (driver) => {
  let s: TestServer;
  const written: Written[] = [];

  beforeAll(async () => {
    s = await startTestServer(driver);
    useToken(s.token);
    for (const example of examples) {
      const r = example.resource;
      const res = r.id
        ? await fhirFetch<OperationOutcome>(`${s.base}/${r.resourceType}/${r.id}`, {
            method: 'PUT',
            body: example.text,
            headers: { 'content-type': 'application/fhir+json' },
          })
        : await fhirFetch<OperationOutcome>(`${s.base}/${r.resourceType}`, {
            method: 'POST',
            body: example.text,
            headers: { 'content-type': 'application/fhir+json' },
          });
      written.push({
        example,
        status: res.status,
        location: r.id
          ? `${r.resourceType}/${r.id}`
          : (res.headers.get('location') ?? '').replace(/.*\/fhir\//, '').replace(/\/_history\/.*/, ''),
        outcome: res.status >= 400 ? res.body : undefined,
      });
      const w = written[written.length - 1];
      if (res.status < 300) w.readBack = (await fhirFetch(`${s.base}/${w.location}`)).text;
    }
  }, 600_000);
  afterAll(async () => {
    await s.close();
  });

  it('stores every example but the documented refusals, each refused with its status', () => {
    const refused = Object.fromEntries(
      written
        .filter((w) => w.status >= 300)
        .map((w) => [
          w.example.name,
          `${w.status} ${w.outcome?.issue?.map((i) => `${i.expression?.join(',') ?? ''}: ${i.details?.text ?? ''}`).join(' | ')}`,
        ]),
    );
    const expected = Object.fromEntries(examples.flatMap((e) => (expectedStatus(e) ? [[e.name, expectedStatus(e)]] : [])));
    expect(Object.fromEntries(Object.entries(refused).map(([k, v]) => [k, v.slice(0, 3)]))).toEqual(expected);
  });

  it('reads every stored example back exactly: decimal precision, key by key', () => {
    const changed: string[] = [];
    for (const w of written.filter((x) => x.status < 300)) {
      const back = withoutServerMeta(exactJson(w.readBack as string)) as Record<string, unknown>;
      const sent = withoutServerMeta(exactJson(w.example.text)) as Record<string, unknown>;
      if (!w.example.resource.id) delete back['id'];
      try {
        expect(back).toEqual(sent);
      } catch {
        changed.push(w.example.name);
      }
    }
    expect(changed).toEqual([]);
  });

  it('$validate agrees with the write: no error for what was stored, an error for what was refused', async () => {
    const disagree: string[] = [];
    for (const w of written) {
      const r = w.example.resource;
      // Wrapped in Parameters: a bare Parameters resource would be read as the operation's input.
      const res = await fhirFetch<OperationOutcome>(`${s.base}/${r.resourceType}/$validate`, {
        method: 'POST',
        body: `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":${w.example.text}}]}`,
        headers: { 'content-type': 'application/fhir+json' },
      });
      const errorsFound = (res.body.issue ?? []).filter((i) => i.severity === 'error' || i.severity === 'fatal');
      const ok = w.status < 300 || byPolicy(w.example) ? errorsFound.length === 0 : errorsFound.length > 0;
      if (!ok)
        disagree.push(
          `${w.example.name}: write ${w.status}, $validate ${res.status} ${errorsFound.map((i) => i.details?.text).join(' | ')}`,
        );
    }
    expect(disagree).toEqual([]);
  });

  it('round-trips every stored example through XML: read as XML, written back as XML, read as JSON unchanged', async () => {
    const changed: string[] = [];
    // Two examples may share a type and id: the last one written is what is stored.
    const latest = new Map(written.filter((x) => x.status < 300).map((x) => [x.location, x]));
    for (const w of latest.values()) {
      const xml = await fhirFetch(`${s.base}/${w.location}`, { headers: { accept: 'application/fhir+xml' } });
      const put = await fhirFetch(`${s.base}/${w.location}`, {
        method: 'PUT',
        body: xml.text,
        headers: { 'content-type': 'application/fhir+xml' },
      });
      const back = await fhirFetch(`${s.base}/${w.location}`);
      try {
        expect(put.status).toBe(200);
        expect(withoutServerMeta(exactJson(back.text))).toEqual(withoutServerMeta(exactJson(w.readBack as string)));
      } catch {
        changed.push(`${w.example.name}: PUT ${put.status} ${put.text.slice(0, 200)}`);
      }
    }
    expect(changed).toEqual([]);
  });
});
