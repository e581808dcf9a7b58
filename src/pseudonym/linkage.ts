/**
 * Authorized linkage between utilizing databases (R19; issue 16 item 6; privacy-design.md §5).
 *
 * 1. A linkage order — domains (two or more), project, purpose, legal basis, period — is filed
 *    and stored with its canonical text (RFC 8785): inert, no key exists for it.
 * 2. k distinct authority officers (MEDID_LINKAGE_APPROVALS, default 2) each sign that exact
 *    text (a JWS, verified against the officer's registered key by the caller: auth/ holds the
 *    keys of clients, not this service). Nobody approves an order they filed. At the k-th
 *    approval a random 32-byte salt is drawn: the order is active.
 * 3. Each database of the order sends its own pseudonyms and gets back project pseudonyms
 *    LP = AES(K_L, KID), K_L = HKDF(master, salt, "medid/link/<order>"): the same person has the
 *    same LP in every database's answer, so the analysis environment joins on LP, and no
 *    database learns another's pseudonyms (the German research-data-centre "third pseudonym").
 * 4. At closure, revocation or the end of its period the salt is destroyed (and the table
 *    vacuumed, so no dead row version keeps it): nobody, the authority included, can make the
 *    order's project pseudonyms again.
 * Each refusal is a LinkageError naming the rule (its `step`), as the OAuth checks do.
 */
import canonicalize from 'canonicalize';
import crypto from 'node:crypto';
import type { Db } from '../store/db.ts';
import {
  activateLinkageOrder,
  endLinkageOrder,
  expiredLinkageOrders,
  insertLinkageApproval,
  insertLinkageBatch,
  insertLinkageOrder,
  purgeEndedSalts,
  readLinkageOrder,
} from '../store/pseudonym-linkage.ts';
import type { LinkageOrderRow } from '../store/pseudonym-linkage.ts';
import type { PseudonymDomainList } from './domain-list.ts';
import type { PseudonymKeys } from './keys.ts';
import { formatProjectPseudonym, parsePseudonym } from './pseudonym.ts';

export type { LinkageOrderRow };

/** Purposes a linkage order may name (v3-ActReason): research and public health only. */
export const LINKAGE_PURPOSES: readonly string[] = ['HRESCH', 'CLINTRCH', 'PUBHLTH'];

/** The order as filed (and as officers sign it, in canonical form). */
export interface LinkageOrder {
  type: 'medid-linkage-order/v1';
  id: string;
  domains: string[];
  project: string;
  purpose: string;
  legalBasis: string;
  period: { start: string; end: string };
  output: 'project-pseudonyms';
  requestedBy: string;
  filed: string;
}

export type LinkageStep =
  | 'order-input'
  | 'unknown-order'
  | 'officer'
  | 'caller'
  | 'self-approval'
  | 'order-text'
  | 'duplicate-approval'
  | 'not-pending'
  | 'not-active'
  | 'not-started'
  | 'expired'
  | 'domain'
  | 'batch-size';

const STATUS_OF: Record<LinkageStep, 400 | 403 | 404 | 409 | 422> = {
  'order-input': 400,
  'unknown-order': 404,
  officer: 403,
  caller: 403,
  'self-approval': 403,
  'order-text': 422,
  'duplicate-approval': 409,
  'not-pending': 409,
  'not-active': 409,
  'not-started': 409,
  expired: 409,
  domain: 403,
  'batch-size': 400,
};

export class LinkageError extends Error {
  override name = 'LinkageError';
  readonly step: LinkageStep;
  readonly status: number;
  constructor(step: LinkageStep, text: string) {
    super(`${text} (linkage rule ${step})`);
    this.step = step;
    this.status = STATUS_OF[step];
  }
}

export const MAX_LINK_BATCH = 100_000;

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The canonical text of an order (RFC 8785): what is stored, hashed and signed. */
export function canonicalOrder(o: LinkageOrder): string {
  return canonicalize(o) as string;
}

export const orderHash = (canonical: string): string => crypto.createHash('sha256').update(canonical).digest('base64url');

export interface LinkageDeps {
  keys: PseudonymKeys;
  domains: PseudonymDomainList;
  /** k: distinct officers an order needs (MEDID_LINKAGE_APPROVALS). */
  approvalsNeeded: number;
  now: () => Date;
}

export class LinkageOrders {
  private readonly d: LinkageDeps;

  constructor(d: LinkageDeps) {
    if (!Number.isInteger(d.approvalsNeeded) || d.approvalsNeeded < 1) throw new RangeError('approvalsNeeded must be a positive integer');
    this.d = d;
  }

  get approvalsNeeded(): number {
    return this.d.approvalsNeeded;
  }

  private today(): string {
    return this.d.now().toISOString().slice(0, 10);
  }

  /**
   * Checks a new order and writes its canonical text (outside any transaction: the domain list
   * may read the database); `store` then keeps it, inert until approved.
   */
  async prepare(
    id: string,
    input: { domains: readonly string[]; project: string; purpose: string; legalBasis: string; period: { start: string; end: string } },
    requestedBy: string,
  ): Promise<{ order: LinkageOrder; canonical: string; hash: string }> {
    const domains = [...new Set(input.domains)].sort();
    if (domains.length < 2) throw new LinkageError('order-input', 'A linkage order names at least two distinct domains');
    for (const d of domains)
      if (!(await this.d.domains.has(d))) throw new LinkageError('order-input', 'A domain of the order is no pseudonym domain');
    const project = input.project.trim();
    const legalBasis = input.legalBasis.trim();
    if (!project || project.length > 500) throw new LinkageError('order-input', 'project: 1–500 characters');
    if (!legalBasis || legalBasis.length > 1000) throw new LinkageError('order-input', 'legalBasis: 1–1000 characters');
    if (!LINKAGE_PURPOSES.includes(input.purpose))
      throw new LinkageError('order-input', `purpose must be one of ${LINKAGE_PURPOSES.join(', ')}`);
    const { start, end } = input.period;
    if (!DAY.test(start) || !DAY.test(end) || Number.isNaN(Date.parse(start)) || Number.isNaN(Date.parse(end)) || end < start)
      throw new LinkageError('order-input', 'period: a start and an end day (YYYY-MM-DD), the end not before the start');
    if (end < this.today()) throw new LinkageError('order-input', 'period: the order would end before it starts to count');
    const order: LinkageOrder = {
      type: 'medid-linkage-order/v1',
      id,
      domains,
      project,
      purpose: input.purpose,
      legalBasis,
      period: { start, end },
      output: 'project-pseudonyms',
      requestedBy,
      filed: this.d.now().toISOString(),
    };
    const canonical = canonicalOrder(order);
    return { order, canonical, hash: orderHash(canonical) };
  }

  async store(db: Db, o: { order: LinkageOrder; canonical: string; hash: string }): Promise<void> {
    const { order } = o;
    await insertLinkageOrder(db, {
      id: order.id,
      canonical: o.canonical,
      orderHash: o.hash,
      domains: order.domains,
      periodStart: order.period.start,
      periodEnd: order.period.end,
      requestedBy: order.requestedBy,
      at: order.filed,
    });
  }

  async read(db: Db, id: string): Promise<LinkageOrderRow> {
    const o = await readLinkageOrder(db, id);
    if (!o) throw new LinkageError('unknown-order', 'No linkage order has that id');
    return o;
  }

  /**
   * Records one officer's approval, already verified as signed by `officer` with its registered
   * key; at the k-th distinct approval the order becomes active (its salt is drawn). Run inside
   * a transaction: the order row is locked, so two last approvals cannot both activate it.
   */
  async approve(
    db: Db,
    id: string,
    a: { officer: string; officerIsAuthority: boolean; caller: string; signedOrder: unknown; jws: string },
  ): Promise<{ status: LinkageOrderRow['status']; approvals: number; needed: number }> {
    const o = await readLinkageOrder(db, id, true);
    if (!o) throw new LinkageError('unknown-order', 'No linkage order has that id');
    if (!a.officerIsAuthority) throw new LinkageError('officer', 'Only an officer of the authority approves a linkage order');
    if (a.caller !== a.officer) throw new LinkageError('caller', 'An approval is sent by the officer who signed it');
    if (a.officer === o.requestedBy) throw new LinkageError('self-approval', 'Nobody approves a linkage order they filed');
    let signed: string | undefined;
    try {
      signed = canonicalize(a.signedOrder);
    } catch {
      signed = undefined;
    }
    if (signed !== o.canonical) throw new LinkageError('order-text', 'The approval does not sign this order’s canonical text');
    await this.expireIfDue(db, o);
    if (o.status !== 'requested') throw new LinkageError('not-pending', `The order is ${o.status}: approvals are closed`);
    if (o.approvals.some((x) => x.officer === a.officer))
      throw new LinkageError('duplicate-approval', 'This officer has approved the order already');
    const at = this.d.now().toISOString();
    await insertLinkageApproval(db, { orderId: id, officer: a.officer, jws: a.jws, at });
    const approvals = o.approvals.length + 1;
    if (approvals >= this.d.approvalsNeeded) {
      await activateLinkageOrder(db, id, crypto.randomBytes(32), at);
      return { status: 'active', approvals, needed: this.d.approvalsNeeded };
    }
    return { status: 'requested', approvals, needed: this.d.approvalsNeeded };
  }

  /**
   * The person keys behind a database's pseudonyms under an active order it belongs to (an
   * unknown or malformed pseudonym: undefined). The caller keeps those the registry knows and
   * may show, then asks `convert`.
   */
  async keysOf(
    db: Db,
    id: string,
    domain: string,
    pseudonyms: readonly string[],
  ): Promise<{ order: LinkageOrderRow; kids: (Buffer | undefined)[] }> {
    if (pseudonyms.length === 0 || pseudonyms.length > MAX_LINK_BATCH)
      throw new LinkageError('batch-size', `Send 1–${MAX_LINK_BATCH} pseudonyms per call`);
    const o = await this.activeOrder(db, id);
    if (!o.domains.includes(domain)) throw new LinkageError('domain', 'This database is not one of the order’s domains');
    const kids = pseudonyms.map((text) => {
      const p = parsePseudonym(text);
      if (!p) return undefined;
      try {
        return this.d.keys.prpInverse(domain, p.version, p.block);
      } catch {
        return undefined; // a key version not held here names nobody
      }
    });
    return { order: o, kids };
  }

  /** The project pseudonyms of person keys under the active order; records the batch (counts only). */
  async convert(db: Db, order: LinkageOrderRow, domain: string, submitted: number, kids: readonly Buffer[]): Promise<string[]> {
    const o = await this.activeOrder(db, order.id);
    const out = this.d.keys.prpLink(o.salt as Buffer, o.id, kids).map(formatProjectPseudonym);
    await insertLinkageBatch(db, { orderId: o.id, domain, submitted, converted: out.length, at: this.d.now().toISOString() });
    return out;
  }

  /** Closes (done) or revokes an order: its salt is destroyed. */
  async end(db: Db, id: string, how: 'closed' | 'revoked'): Promise<LinkageOrderRow['status']> {
    const o = await db.tx(async (t) => {
      const row = await readLinkageOrder(t, id, true);
      if (!row) throw new LinkageError('unknown-order', 'No linkage order has that id');
      if (row.status !== 'requested' && row.status !== 'active')
        throw new LinkageError('not-pending', `The order is ${row.status} already`);
      await endLinkageOrder(t, id, how, this.d.now().toISOString());
      return row;
    });
    await purgeEndedSalts(db).catch(() => undefined);
    return o.status === 'requested' && how === 'closed' ? 'closed' : how;
  }

  /** Ends every order whose period is over (the sweep); returns how many. */
  async expireDue(db: Db): Promise<number> {
    const due = await expiredLinkageOrders(db, this.today());
    for (const id of due) await endLinkageOrder(db, id, 'expired', this.d.now().toISOString());
    if (due.length > 0) await purgeEndedSalts(db).catch(() => undefined);
    return due.length;
  }

  private async activeOrder(db: Db, id: string): Promise<LinkageOrderRow> {
    const o = await readLinkageOrder(db, id);
    if (!o) throw new LinkageError('unknown-order', 'No linkage order has that id');
    await this.expireIfDue(db, o);
    if (o.status === 'requested')
      throw new LinkageError('not-active', `The order has ${o.approvals.length} of ${this.d.approvalsNeeded} approvals`);
    if (o.status !== 'active' || !o.salt)
      throw new LinkageError(o.status === 'expired' ? 'expired' : 'not-active', `The order is ${o.status}`);
    if (this.today() < o.periodStart) throw new LinkageError('not-started', 'The order’s period has not begun');
    return o;
  }

  /** An order past its period ends at the first touch (the sweep ends the rest). */
  private async expireIfDue(db: Db, o: LinkageOrderRow): Promise<void> {
    if ((o.status === 'requested' || o.status === 'active') && o.periodEnd < this.today()) {
      await endLinkageOrder(db, o.id, 'expired', this.d.now().toISOString());
      o.status = 'expired';
      o.salt = null;
    }
  }
}
