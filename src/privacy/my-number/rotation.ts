/**
 * Rotating the My Number MAC without a single My Number in the clear (privacy-design.md §2.1):
 * every stored MAC h_{v−1} becomes h_v = HMAC(K_v, "medid/mn/v<v>|" ‖ h_{v−1}) (ChainedMac.link),
 * computed from the stored value alone — in the HSM when K_v lives there. One transaction, so
 * the database is at one version or the other, never half; nodes must then start with the new
 * chain (`medid keys rotate my-number-mac` marks K_v active once this commits, and re-running
 * it after a crash finishes the same rotation).
 */
import type { Db } from '../../store/db.ts';
import { macsAtVersion, macVersions, rewriteMacs } from '../../store/my-number-rotation.ts';
import type { MacTable } from '../../store/my-number-rotation.ts';
import { ChainedMac } from './mac.ts';
import type { MacStep } from './mac.ts';

const TABLES: readonly MacTable[] = ['my_number', 'person_subject', 'review'];
const BATCH = 1000;

export interface RotationReport {
  from: number;
  to: number;
  /** Rows rewritten per table. */
  rewritten: Record<MacTable, number>;
}

/** Rewrites every My Number MAC stored at `step.version − 1` to `step.version`. */
export async function rotateMyNumberMacs(
  db: Db,
  step: MacStep,
  onProgress?: (table: MacTable, n: number) => void,
): Promise<RotationReport> {
  const from = step.version - 1;
  const rewritten: Record<MacTable, number> = { my_number: 0, person_subject: 0, review: 0 };
  await db.tx(async (tx) => {
    for (const table of TABLES) {
      for (;;) {
        const olds = await macsAtVersion(tx, table, from, BATCH);
        if (olds.length === 0) break;
        const n = await rewriteMacs(
          tx,
          table,
          olds.map((old) => ({ old, next: ChainedMac.link(step, old) })),
          from,
          step.version,
        );
        if (n === 0) throw new Error(`My Number MAC rotation: no ${table} row rewritten from v${from}`);
        rewritten[table] += n;
        onProgress?.(table, rewritten[table]);
      }
    }
    // Nothing may stay behind at an older version: a lookup computes only the newest.
    const left = (await macVersions(tx)).filter((r) => r.version < step.version);
    if (left.length > 0) {
      throw new Error(
        `My Number MAC rotation: MACs at older versions remain (${left.map((r) => `${r.table} v${r.version}: ${r.n}`).join(', ')})`,
      );
    }
  });
  return { from, to: step.version, rewritten };
}

/** The newest version stored anywhere (0: none stored), to check a chain against the database. */
export async function storedMacVersion(db: Db): Promise<number> {
  return Math.max(0, ...(await macVersions(db)).map((r) => r.version));
}
