/**
 * The access log's Merkle tree (RFC 9162 §2.1): the RFC 6962 reference vectors, every proof of
 * every tree up to 70 leaves against the RFC's own recursive definitions, verified by both
 * verifiers (node:crypto and the dependency-free WebCrypto one) with mutations refused, proofs
 * costing O(log n) stored hashes at any size, and appending.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as M from '../../../src/audit/merkle.ts';
import * as V from '../../../src/audit/verify/log-verify.ts';

type Hash = Uint8Array;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

// The RFC 6962 test vectors of the Certificate Transparency reference implementations, as
// published in transparency-dev/merkle proof/verify_test.go (commit 02194e9a; the same values as
// certificate-transparency-go's merkletree tests). Their leaf indices are 1-based there; 0-based
// here. Leaf data, then the root of each tree size 0..8.
const DATA = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(unhex);
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const INCLUSION = [
  {
    index: 0,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  { index: 2, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  {
    index: 1,
    size: 5,
    proof: [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
];
const CONSISTENCY = [
  {
    size1: 1,
    size2: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    size1: 6,
    size2: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  {
    size1: 2,
    size2: 5,
    proof: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
  {
    size1: 6,
    size2: 7,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];
const SOME_HASH = unhex('abacaba000000000000000000000000000000000000000000060061e00123456');

// RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1 word for word, over all leaf hashes: the reference the
// O(log n) generator must agree with.
function refMth(d: readonly Hash[]): Hash {
  if (d.length === 0) return M.EMPTY_ROOT;
  if (d.length === 1) return d[0];
  const k = M.splitPoint(d.length);
  return M.nodeHash(refMth(d.slice(0, k)), refMth(d.slice(k)));
}
function refPath(m: number, d: readonly Hash[]): Hash[] {
  if (d.length === 1) return [];
  const k = M.splitPoint(d.length);
  return m < k ? [...refPath(m, d.slice(0, k)), refMth(d.slice(k))] : [...refPath(m - k, d.slice(k)), refMth(d.slice(0, k))];
}
function refSubproof(m: number, d: readonly Hash[], b: boolean): Hash[] {
  if (m === d.length) return b ? [] : [refMth(d)];
  const k = M.splitPoint(d.length);
  return m <= k
    ? [...refSubproof(m, d.slice(0, k), b), refMth(d.slice(k))]
    : [...refSubproof(m - k, d.slice(k), false), refMth(d.slice(0, k))];
}

const flip = (h: Hash, bit = 3): Hash => {
  const c = Uint8Array.from(h);
  c[0] = (c[0] ?? 0) ^ (1 << bit);
  return c;
};
const withFlipped = (proof: readonly Hash[], i: number): Hash[] => proof.map((p, j) => (j === i ? flip(p) : p));

/** Both verifiers, which must always agree. */
async function inclusionOk(index: number, size: number, leaf: Hash, proof: readonly Hash[], root: Hash): Promise<boolean> {
  const server = M.verifyInclusion(index, size, leaf, proof, root);
  const portable = await V.verifyInclusion(index, size, leaf, proof, root);
  expect(portable, `verifiers disagree on inclusion of ${index} in ${size}`).toBe(server);
  return server;
}
async function consistencyOk(size1: number, size2: number, proof: readonly Hash[], root1: Hash, root2: Hash): Promise<boolean> {
  const server = M.verifyConsistency(size1, size2, proof, root1, root2);
  const portable = await V.verifyConsistency(size1, size2, proof, root1, root2);
  expect(portable, `verifiers disagree on consistency ${size1} → ${size2}`).toBe(server);
  return server;
}

const treeOf = (leaves: readonly Hash[]): M.MemoryTree => {
  const t = new M.MemoryTree();
  for (const l of leaves) t.append(l);
  return t;
};

describe('RFC 6962 reference vectors', () => {
  const leaves = DATA.map(M.leafHash);
  const tree = treeOf(leaves);

  it('hash leaves and nodes with the 0x00 and 0x01 prefixes', async () => {
    expect(hex(M.EMPTY_ROOT)).toBe(ROOTS[0]);
    expect(hex(await V.emptyRoot())).toBe(ROOTS[0]);
    expect(hex(M.leafHash(new Uint8Array()))).toBe(ROOTS[1]);
    expect(hex(await V.leafHash(new Uint8Array()))).toBe(ROOTS[1]);
    expect(hex(M.nodeHash(leaves[0] as Hash, leaves[1] as Hash))).toBe(ROOTS[2]);
    expect(hex(await V.nodeHash(leaves[0] as Hash, leaves[1] as Hash))).toBe(ROOTS[2]);
  });

  it('give the published root for every size 0..8, however it is computed', async () => {
    for (let n = 0; n <= 8; n++) {
      expect(hex(tree.root(n)), `size ${n}`).toBe(ROOTS[n]);
      expect(hex(await M.rootAt(n, tree))).toBe(ROOTS[n]);
      expect(hex(refMth(leaves.slice(0, n)))).toBe(ROOTS[n]);
      expect(hex(await V.rootFromLeafHashes(leaves.slice(0, n)))).toBe(ROOTS[n]);
    }
  });

  it.each(INCLUSION)(
    'inclusion of leaf $index in size $size: generated and verified as published, corruptions refused',
    async ({ index, size, proof: p }) => {
      const proof = p.map(unhex);
      const root = unhex(ROOTS[size]);
      const leaf = leaves[index] as Hash;
      expect(tree.inclusionProof(index, size).map(hex)).toEqual(p);
      expect(hex(await V.rootFromInclusion(index, size, leaf, proof))).toBe(ROOTS[size]);
      expect(await inclusionOk(index, size, leaf, proof, root)).toBe(true);
      // transparency-dev's corruptions, each of which must fail.
      const probes: [string, number, number, Hash, Hash[], Hash][] = [
        ['index - 1', index - 1, size, leaf, proof, root],
        ['index + 1', index + 1, size, leaf, proof, root],
        ['index ^ 2', index ^ 2, size, leaf, proof, root],
        ['size * 2', index, size * 2, leaf, proof, root],
        ['size / 2', index, Math.floor(size / 2), leaf, proof, root],
        ['wrong leaf', index, size, new TextEncoder().encode('WrongLeaf'), proof, root],
        ['empty root', index, size, leaf, proof, M.EMPTY_ROOT],
        ['random root', index, size, leaf, proof, SOME_HASH],
        ['trailing garbage', index, size, leaf, [...proof, new Uint8Array()], root],
        ['trailing root', index, size, leaf, [...proof, root], root],
        ['preceding garbage', index, size, leaf, [new Uint8Array(), ...proof], root],
        ['preceding root', index, size, leaf, [root, ...proof], root],
        ['removed component', index, size, leaf, proof.slice(0, -1), root],
        ['inserted component', index, size, leaf, [proof[0], SOME_HASH, ...proof.slice(1)], root],
        ...proof.map((_, i): [string, number, number, Hash, Hash[], Hash] => [
          `proof[${i}] bit flipped`,
          index,
          size,
          leaf,
          withFlipped(proof, i),
          root,
        ]),
      ];
      for (const [what, i, n, l, pr, r] of probes) expect(await inclusionOk(i, n, l, pr, r), what).toBe(false);
    },
  );

  it.each(CONSISTENCY)(
    'consistency from size $size1 to $size2: generated and verified as published, corruptions refused',
    async ({ size1, size2, proof: p }) => {
      const proof = p.map(unhex);
      const root1 = unhex(ROOTS[size1]);
      const root2 = unhex(ROOTS[size2]);
      expect(tree.consistencyProof(size1, size2).map(hex)).toEqual(p);
      expect(await consistencyOk(size1, size2, proof, root1, root2)).toBe(true);
      const wrong = new TextEncoder().encode('WrongRoot');
      const probes: [string, number, number, Hash[], Hash, Hash][] = [
        ['size1 - 1', size1 - 1, size2, proof, root1, root2],
        ['size1 + 1', size1 + 1, size2, proof, root1, root2],
        ['size1 ^ 2', size1 ^ 2, size2, proof, root1, root2],
        ['size2 * 2', size1, size2 * 2, proof, root1, root2],
        ['size2 / 2', size1, Math.floor(size2 / 2), proof, root1, root2],
        ['wrong root1', size1, size2, proof, wrong, root2],
        ['wrong root2', size1, size2, proof, root1, wrong],
        ['swapped roots', size1, size2, proof, root2, root1],
        ['empty proof', size1, size2, [], root1, root2],
        ['trailing garbage', size1, size2, [...proof, new Uint8Array()], root1, root2],
        ['trailing root1', size1, size2, [...proof, root1], root1, root2],
        ['trailing root2', size1, size2, [...proof, root2], root1, root2],
        ['preceding garbage', size1, size2, [new Uint8Array(), ...proof], root1, root2],
        ['preceding root1', size1, size2, [root1, ...proof], root1, root2],
        ['preceding root2', size1, size2, [root2, ...proof], root1, root2],
        ['preceding proof[0]', size1, size2, [proof[0], ...proof], root1, root2],
        ['truncated proof', size1, size2, proof.slice(0, -1), root1, root2],
        ...proof.map((_, i): [string, number, number, Hash[], Hash, Hash] => [
          `proof[${i}] bit flipped`,
          size1,
          size2,
          withFlipped(proof, i),
          root1,
          root2,
        ]),
      ];
      for (const [what, m, n, pr, r1, r2] of probes) expect(await consistencyOk(m, n, pr, r1, r2), what).toBe(false);
    },
  );

  it('treat equal sizes and the empty tree as the reference verifier does', async () => {
    const r1 = unhex(ROOTS[1]);
    expect(await consistencyOk(0, 0, [], M.EMPTY_ROOT, M.EMPTY_ROOT)).toBe(true);
    expect(await consistencyOk(0, 1, [], M.EMPTY_ROOT, r1)).toBe(true);
    expect(await consistencyOk(1, 1, [], r1, r1)).toBe(true);
    expect(await consistencyOk(1, 1, [], r1, SOME_HASH)).toBe(false);
    expect(await consistencyOk(1, 1, [M.EMPTY_ROOT], r1, r1)).toBe(false);
    expect(await consistencyOk(0, 1, [M.EMPTY_ROOT], M.EMPTY_ROOT, r1)).toBe(false);
    expect(await consistencyOk(2, 1, [], r1, r1)).toBe(false);
    expect(await consistencyOk(1, 2, [], r1, SOME_HASH)).toBe(false);
    // A one-leaf tree's root is its leaf; nothing is in an empty tree.
    expect(await inclusionOk(0, 1, r1, [], r1)).toBe(true);
    expect(await inclusionOk(0, 0, r1, [], r1)).toBe(false);
    expect(await inclusionOk(1, 1, r1, [], r1)).toBe(false);
    await expect(V.rootFromInclusion(0, 2, r1, [])).rejects.toThrow(/too short/);
    expect(() => M.rootFromInclusion(0, 1, r1, [r1])).toThrow(/too long/);
  });
});

describe('every proof of every tree up to 70 leaves', () => {
  const N = 70;
  const leaves = Array.from({ length: N }, (_, i) => M.leafHash(Buffer.from(`entry ${i}`)));
  const tree = treeOf(leaves);
  const roots = Array.from({ length: N + 1 }, (_, n) => refMth(leaves.slice(0, n)));

  it('roots agree with MTH at every size', () => {
    for (let n = 0; n <= N; n++) expect(hex(tree.root(n))).toBe(hex(roots[n]));
  });

  it('inclusion: PATH(m, D[n]) for all 0 ≤ m < n ≤ 70 is the RFC path, verifies, and a mutated proof, root or index fails', async () => {
    let pairs = 0;
    for (let n = 1; n <= N; n++) {
      const root = roots[n];
      for (let m = 0; m < n; m++) {
        const proof = tree.inclusionProof(m, n);
        expect(proof.map(hex), `PATH(${m}, D[${n}])`).toEqual(refPath(m, leaves.slice(0, n)).map(hex));
        const leaf = leaves[m] as Hash;
        expect(await inclusionOk(m, n, leaf, proof, root), `${m} in ${n}`).toBe(true);
        expect(await inclusionOk(m, n, leaf, proof, flip(root))).toBe(false);
        if (proof.length > 0) expect(await inclusionOk(m, n, leaf, withFlipped(proof, (m + n) % proof.length), root)).toBe(false);
        if (n > 1) expect(await inclusionOk((m + 1) % n, n, leaf, proof, root)).toBe(false);
        pairs++;
      }
    }
    expect(pairs).toBe((N * (N + 1)) / 2);
  });

  it('consistency: PROOF(m, D[n]) for all 1 ≤ m ≤ n ≤ 70 is the RFC proof, verifies, and a mutated proof or root fails', async () => {
    let pairs = 0;
    for (let n = 1; n <= N; n++) {
      for (let m = 1; m <= n; m++) {
        const proof = tree.consistencyProof(m, n);
        expect(proof.map(hex), `PROOF(${m}, D[${n}])`).toEqual(refSubproof(m, leaves.slice(0, n), true).map(hex));
        const [r1, r2] = [roots[m], roots[n]];
        expect(await consistencyOk(m, n, proof, r1, r2), `${m} → ${n}`).toBe(true);
        expect(await consistencyOk(m, n, proof, flip(r1), r2)).toBe(false);
        expect(await consistencyOk(m, n, proof, r1, flip(r2))).toBe(false);
        if (proof.length > 0) expect(await consistencyOk(m, n, withFlipped(proof, (m * n) % proof.length), r1, r2)).toBe(false);
        pairs++;
      }
    }
    expect(pairs).toBe((N * (N + 1)) / 2);
  });
});

describe('proofs read O(log n) stored hashes', () => {
  const log2ceil = (n: number): number => Math.ceil(Math.log2(n));
  const complete = (s: M.Subtree, n: number): boolean => (s.index + 1) * 2 ** s.level <= n;

  it('at any size up to 2^53 − 1, only complete subtrees inside the tree, at most 2·⌈log₂ n⌉ of them', () => {
    const size = fc.integer({ min: 2, max: Number.MAX_SAFE_INTEGER });
    fc.assert(
      fc.property(size, fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (n, a, b) => {
        const index = Math.min(n - 1, Math.floor(a * n));
        const size1 = Math.max(1, Math.min(n, Math.ceil(b * n)));
        const inclusion = M.inclusionPlan(index, n);
        const consistency = M.consistencyPlan(size1, n);
        for (const plan of [inclusion, consistency, M.rootPlan(n)]) {
          expect(plan.subtrees.length).toBeLessThanOrEqual(2 * log2ceil(n));
          expect(plan.subtrees.every((s) => complete(s, n))).toBe(true);
        }
        expect(inclusion.ranges.length).toBeLessThanOrEqual(log2ceil(n));
        expect(consistency.ranges.length).toBeLessThanOrEqual(log2ceil(n) + 1);
        expect(consistency.subtrees.every((s) => complete(s, n))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('a proof is one read, and a reader that knows only complete subtrees suffices', async () => {
    const leaves = Array.from({ length: 1000 }, (_, i) => M.leafHash(Buffer.from([i % 256, i >> 8])));
    const tree = treeOf(leaves);
    const reads: number[] = [];
    const counting: M.SubtreeReader = {
      read: (s) => {
        reads.push(s.length);
        return Promise.resolve(tree.read(s));
      },
    };
    const proof = await M.inclusionProof(700, 1000, counting);
    expect(M.verifyInclusion(700, 1000, leaves[700] as Hash, proof, tree.root())).toBe(true);
    const cproof = await M.consistencyProof(999, 1000, counting);
    expect(M.verifyConsistency(999, 1000, cproof, tree.root(999), tree.root())).toBe(true);
    expect(hex(await M.rootAt(777, counting))).toBe(hex(refMth(leaves.slice(0, 777))));
    expect(reads).toHaveLength(3);
    for (const r of reads) expect(r).toBeLessThanOrEqual(2 * 10);
    expect(() => tree.read([{ level: 3, index: 125 }])).toThrow(/not complete/);
  });

  it('a range that is not a subtree is refused', () => {
    expect(M.subtreesOf({ start: 8, end: 15 })).toEqual([
      { level: 2, index: 2 },
      { level: 1, index: 6 },
      { level: 0, index: 14 },
    ]);
    expect(() => M.subtreesOf({ start: 2, end: 6 })).toThrow(/not a subtree/);
    expect(() => M.inclusionPlan(5, 5)).toThrow(RangeError);
    expect(() => M.consistencyPlan(0, 5)).toThrow(RangeError);
    expect(() => M.consistencyPlan(6, 5)).toThrow(RangeError);
  });

  it('splits at the largest power of two smaller than n', () => {
    const cases: [number, number][] = [
      [2, 1],
      [3, 2],
      [4, 2],
      [5, 4],
      [8, 4],
      [9, 8],
      [1000, 512],
      [2 ** 40, 2 ** 39],
      [2 ** 40 + 1, 2 ** 40],
      [Number.MAX_SAFE_INTEGER, 2 ** 52],
    ];
    for (const [n, k] of cases) expect(M.splitPoint(n), `n = ${n}`).toBe(k);
    expect(() => M.splitPoint(1)).toThrow(RangeError);
  });
});

describe('appending', () => {
  it('keeps a frontier whose fold is the root, creating each complete subtree once', () => {
    const leaves = Array.from({ length: 300 }, (_, i) => M.leafHash(Buffer.from(`leaf ${i}`)));
    let frontier = M.EMPTY_FRONTIER;
    const stored = new Map<string, Hash>();
    for (let i = 0; i < leaves.length; i++) {
      const { frontier: next, created } = M.appendLeaf(frontier, leaves[i]);
      frontier = next;
      for (const c of created) {
        const key = `${c.level}/${c.index}`;
        expect(stored.has(key), `(${key}) created twice`).toBe(false);
        expect(hex(c.hash)).toBe(hex(refMth(leaves.slice(c.index * 2 ** c.level, (c.index + 1) * 2 ** c.level))));
        stored.set(key, c.hash);
      }
      expect(frontier.size).toBe(i + 1);
      expect(hex(M.frontierRoot(frontier))).toBe(hex(refMth(leaves.slice(0, i + 1))));
    }
    // n leaves: n leaf hashes and n − popcount(n) interior nodes.
    const popcount = (300).toString(2).replaceAll('0', '').length;
    expect(stored.size).toBe(300 + 300 - popcount);
  });

  it('reads a frontier back from stored subtrees, and continues from it', async () => {
    const leaves = Array.from({ length: 77 }, (_, i) => M.leafHash(Buffer.from(`x${i}`)));
    const tree = treeOf(leaves.slice(0, 45));
    const frontier = await M.readFrontier(45, tree);
    expect(frontier.hashes).toHaveLength(4); // 45 = 32 + 8 + 4 + 1
    let f = frontier;
    for (const l of leaves.slice(45)) f = M.appendLeaf(f, l).frontier;
    expect(hex(M.frontierRoot(f))).toBe(hex(refMth(leaves)));
  });
});
