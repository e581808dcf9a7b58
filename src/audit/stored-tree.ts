/**
 * The access log's tree as stored (merkle.ts's storage plan, thinned): the leaf hashes
 * (audit.log_leaf) and the complete subtrees from level 8 up (audit.log_node). A subtree below
 * level 8 covers at most 256 leaves, so it is folded from their hashes when asked for — storing it
 * would cost a row and an index entry per leaf in the statement every disclosure waits for, to
 * save reading ≤ 256 hashes of 32 bytes in the rare read that needs one (a proof, a signed head's
 * root, the appender's frontier after a restart). Every read is still one query.
 */
import type { Db } from '../store/db.ts';
import { readTreeHashes } from '../store/audit.ts';
import { nodeHash } from './merkle.ts';
import type { Hash, Subtree, SubtreeReader } from './merkle.ts';

/** The lowest level of audit.log_node the appender stores (2^8 = 256 leaves). */
export const STORED_FROM_LEVEL = 8;

/** Reads subtrees from the database: stored ones as they are, lower ones folded from their leaves. */
export function storedTree(db: Db): SubtreeReader {
  return {
    read: async (subtrees: readonly Subtree[]): Promise<Hash[]> => {
      const nodes = subtrees.filter((t) => t.level >= STORED_FROM_LEVEL);
      const low = subtrees.filter((t) => t.level < STORED_FROM_LEVEL);
      const ranges = low.map((t) => ({ start: t.index * 2 ** t.level, end: (t.index + 1) * 2 ** t.level }));
      const found = await readTreeHashes(db, nodes, ranges);
      return subtrees.map((t) => {
        const h = t.level >= STORED_FROM_LEVEL ? found.get(`${t.level}/${t.index}`) : fold(found, t);
        if (!h) throw new Error(`access log: subtree ${t.level}/${t.index} is not stored`);
        return h;
      });
    },
  };
}

/** A complete subtree below the stored levels, from its leaf hashes (undefined if one is missing). */
function fold(leaves: Map<string, Buffer>, t: Subtree): Hash | undefined {
  const start = t.index * 2 ** t.level;
  let row: Hash[] = [];
  for (let i = 0; i < 2 ** t.level; i++) {
    const h = leaves.get(`0/${start + i}`);
    if (!h) return undefined;
    row.push(h);
  }
  while (row.length > 1) {
    const up: Hash[] = [];
    for (let i = 0; i < row.length; i += 2) up.push(nodeHash(row[i], row[i + 1]));
    row = up;
  }
  return row[0];
}
