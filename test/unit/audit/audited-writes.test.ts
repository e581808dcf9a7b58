/** The audited-write slot: only registered kinds travel with an audit record, each registered once. */
import { describe, expect, it } from 'vitest';
import { AuditedWrites } from '../../../src/audit/audited-writes.ts';
import { serviceUseWrite } from '../../../src/eligibility/service-use.ts';

describe('audited writes', () => {
  it('resolves a registered kind to its SQL and refuses an unregistered one', () => {
    const w = new AuditedWrites();
    expect(() => w.resolve([{ kind: serviceUseWrite.kind, rows: [] }])).toThrow(/not registered/);
    w.register(serviceUseWrite);
    const rows = [{ patientId: 'p', orgCode: '1310000001', day: '2026-12-01' }];
    expect(w.resolve([{ kind: serviceUseWrite.kind, rows }])).toEqual([{ sql: serviceUseWrite, rows }]);
  });
  it('refuses a kind registered twice, or one that is not a short SQL name', () => {
    const w = new AuditedWrites();
    w.register(serviceUseWrite);
    expect(() => w.register(serviceUseWrite)).toThrow(/twice/);
    expect(() => w.register({ kind: 'x; DROP TABLE audit.event', cte: () => '' })).toThrow(/SQL name/);
  });
});
