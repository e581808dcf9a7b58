/**
 * Sealed delivery (R18; privacy-design.md §4 "Delivery"): a provider sending data to utilizing
 * database d attaches a sealed envelope — a JWE to the authority's envelope key whose plaintext
 * is a JWS signed with the provider's own registered client key (sign, then encrypt: medid knows
 * which organization sealed it, d cannot read it). d forwards it to `$pseudonymize`; the
 * registry opens it here and answers with the person (KID and Patient id) — never the insured
 * number or medical ID, so neither the handler nor the pseudonymization service ever sees it.
 *
 * Why the registry opens it, not the pseudonymization service: the envelope holds identifiers
 * that only the registry resolves, and the pseudonymization service never sees an insured
 * number or medical ID (§1). So the envelope key sits on the registry's side (privacy/), this
 * module is given `open` (never the key), and the work numbers seen are kept in the registry's
 * schema (store/envelopes.ts).
 *
 * The checks run as a checklist, each refusal naming its rule (`envelope.<step>`); cheap and
 * key-free checks first, nothing read from the database before the signature verifies, and the
 * work number recorded last (an envelope refused for an unknown person is not spent). A refusal's
 * text never repeats an identifier's value.
 *
 * Claims (the JWS payload, header `typ: medid-envelope+jwt`):
 *   iss    the provider's client_id (its registered keys verify the signature)
 *   aud    the code of the database it is for (its pseudonym domain): one string
 *   work   the one-time work number the provider sent with the data (1–64 of A-Z a-z 0-9 . _ : -)
 *   iat, exp  issued and expiry times (seconds); exp − iat ≤ 24 hours; nbf optional
 *   exactly one of: insured (被保険者個人識別子 保険者番号:記号:番号:枝番), publicPayer
 *   (公費負担者番号::受給者番号:, for public-assistance recipients, R17) or medicalId.
 */
import crypto from 'node:crypto';
import type { Organization, OrgKind } from '../core/principal.ts';
import { ID_SYSTEMS } from '../core/systems.ts';
import type { ParseResult } from '../identifiers/kind.ts';
import type { Db } from '../store/db.ts';
import { recordEnvelopeWork } from '../store/envelopes.ts';
import { keyedPersonOfIdentifier, keyedPersonOfKey, keyedPersonOfMedicalId, researchVisible } from './person-keys.ts';
import type { KeyedPerson } from './person-keys.ts';

/** The inner JWS's `typ` (explicit typing, RFC 8725 §3.11): never taken for a client assertion. */
export const ENVELOPE_TYP = 'medid-envelope+jwt';
/** Longest envelope accepted (characters of the compact JWE). */
export const MAX_ENVELOPE_CHARS = 16_384;
/**
 * Longest lifetime (exp − iat). Short, but a day: a database may forward the day's deliveries in
 * one batch. Only the addressed database can redeem an envelope, and only once.
 */
export const MAX_ENVELOPE_LIFETIME_S = 24 * 3600;
/** Clock skew tolerated between provider and medid. */
export const ENVELOPE_SKEW_S = 60;
/**
 * Who may seal: medical institutions (what they send to a database about their patients) and
 * insurers (claims data — レセプト to the NDB, 介護 data from municipalities). Not databases,
 * networks or the authority.
 */
export const SEALER_KINDS: readonly OrgKind[] = ['medical-institution', 'insurer'];
const WORK = /^[A-Za-z0-9._:-]{1,64}$/;
const COMPACT_JWE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** Hops followed from a merged person to the survivor. */
const MAX_MERGE_HOPS = 4;

export type EnvelopeRule =
  | 'envelope.format'
  | 'envelope.key'
  | 'envelope.decrypt'
  | 'envelope.jws'
  | 'envelope.alg'
  | 'envelope.kid'
  | 'envelope.typ'
  | 'envelope.iss'
  | 'envelope.sealer'
  | 'envelope.sealer-disabled'
  | 'envelope.jwks_uri'
  | 'envelope.signing-key'
  | 'envelope.signature'
  | 'envelope.sealer-kind'
  | 'envelope.aud'
  | 'envelope.exp'
  | 'envelope.iat'
  | 'envelope.nbf'
  | 'envelope.lifetime'
  | 'envelope.work'
  | 'envelope.identifier'
  | 'envelope.person-unknown'
  | 'envelope.person-not-visible'
  | 'envelope.replay';

/** The authority's envelope key as an operation (privacy/envelope-keys.ts, or an HSM back end). */
export interface EnvelopeKeys {
  open(jwe: string): Promise<{ ok: true; plaintext: Uint8Array } | { ok: false; reason: 'key' | 'decrypt'; text: string }>;
}

export interface Sealer {
  clientId: string;
  org: Organization;
}

/** Steps of the signature check (auth/client-signature.ts), as this module names them. */
const SIGNATURE_RULES: Readonly<Record<string, EnvelopeRule>> = {
  format: 'envelope.jws',
  alg: 'envelope.alg',
  kid: 'envelope.kid',
  typ: 'envelope.typ',
  iss: 'envelope.iss',
  signer: 'envelope.sealer',
  'signer-disabled': 'envelope.sealer-disabled',
  jwks_uri: 'envelope.jwks_uri',
  'signing-key': 'envelope.signing-key',
  signature: 'envelope.signature',
};

/**
 * Verifies the inner JWS against its issuer's registered keys (auth/, wired in app.ts): the
 * registry never reads the client registry itself.
 */
export type VerifySealer = (
  jws: string,
  typ: string,
) => Promise<{ ok: true; sealer: Sealer; payload: Record<string, unknown> } | { ok: false; step: string; text: string }>;

/** Who an identifier names, and the replay record: the registry's tables (`registryEnvelopeStore`), stubs in unit tests. */
export interface EnvelopeStore {
  byIdentifier(system: string, value: string): Promise<KeyedPerson | undefined>;
  byMedicalId(mid: string): Promise<KeyedPerson | undefined>;
  byKey(kid: Buffer): Promise<KeyedPerson | undefined>;
  /** Records a work key until `expiresAt`; false when seen before (a replay). */
  recordWork(hash: Buffer, expiresAt: Date, now: Date): Promise<boolean>;
}

export function registryEnvelopeStore(db: Db): EnvelopeStore {
  return {
    byIdentifier: (system, value) => keyedPersonOfIdentifier(db, system, value),
    byMedicalId: async (mid) => (await keyedPersonOfMedicalId(db, mid))?.person,
    byKey: (kid) => keyedPersonOfKey(db, kid),
    recordWork: (hash, expiresAt, now) => recordEnvelopeWork(db, hash, expiresAt, now),
  };
}

export interface EnvelopeDeps {
  keys: EnvelopeKeys;
  verifySealer: VerifySealer;
  /** The identifier catalog's normalization (canonical values), and the medical ID's system. */
  parseIdentifier(system: string, value: string): ParseResult;
  medicalIdSystem: string;
  store: EnvelopeStore;
  now: () => Date;
}

export type EnvelopeResult =
  | { ok: true; work: string; sealer: Sealer; person: KeyedPerson }
  | {
      ok: false;
      rule: EnvelopeRule;
      text: string;
      /** Known once the signature verified (the database holds it already: it came with the data). */
      work?: string;
      sealer?: Sealer;
    };

/** The identifier claims: exactly one is given. */
const IDENTIFIER_CLAIMS = ['insured', 'publicPayer', 'medicalId'] as const;

export class EnvelopeDesk {
  private readonly d: EnvelopeDeps;

  constructor(deps: EnvelopeDeps) {
    this.d = deps;
  }

  /** Opens one envelope for the database whose pseudonym domain is `audience`. */
  async open(envelope: unknown, audience: string): Promise<EnvelopeResult> {
    const no = (rule: EnvelopeRule, text: string, more: { work?: string; sealer?: Sealer } = {}): EnvelopeResult => ({
      ok: false,
      rule,
      text,
      ...more,
    });
    if (typeof envelope !== 'string' || envelope.length > MAX_ENVELOPE_CHARS || !COMPACT_JWE.test(envelope))
      return no('envelope.format', `an envelope is a compact JWE (five base64url parts) of at most ${MAX_ENVELOPE_CHARS} characters`);
    const opened = await this.d.keys.open(envelope);
    if (!opened.ok) return no(opened.reason === 'key' ? 'envelope.key' : 'envelope.decrypt', opened.text);
    let jws: string;
    try {
      jws = new TextDecoder('utf-8', { fatal: true }).decode(opened.plaintext);
    } catch {
      return no('envelope.jws', 'the sealed content is not a JWS');
    }
    const signed = await this.d.verifySealer(jws, ENVELOPE_TYP);
    if (!signed.ok) return no(SIGNATURE_RULES[signed.step] ?? 'envelope.signature', `the sealed JWS: ${signed.text}`);
    const { sealer, payload: c } = signed;
    if (!SEALER_KINDS.includes(sealer.org.kind))
      return no('envelope.sealer-kind', `a ${sealer.org.kind} client may not seal envelopes (${SEALER_KINDS.join(' or ')} only)`, {
        sealer,
      });
    if (c['aud'] !== audience)
      return no('envelope.aud', 'the envelope is addressed to another database (aud must be the calling database’s code)', { sealer });
    const work = typeof c['work'] === 'string' && WORK.test(c['work']) ? c['work'] : undefined;
    if (!work) return no('envelope.work', 'work must be the work number: 1–64 of A-Z a-z 0-9 . _ : -', { sealer });
    const refuse = (rule: EnvelopeRule, text: string): EnvelopeResult => no(rule, text, { work, sealer });

    const now = this.d.now().getTime() / 1000;
    const { exp, iat, nbf } = c;
    if (typeof exp !== 'number' || !Number.isFinite(exp)) return refuse('envelope.exp', 'exp (seconds) is required');
    if (exp <= now - ENVELOPE_SKEW_S) return refuse('envelope.exp', 'the envelope has expired');
    if (typeof iat !== 'number' || !Number.isFinite(iat)) return refuse('envelope.iat', 'iat (seconds) is required');
    if (iat > now + ENVELOPE_SKEW_S) return refuse('envelope.iat', 'iat is in the future');
    if (exp - iat > MAX_ENVELOPE_LIFETIME_S)
      return refuse('envelope.lifetime', `exp may be at most ${MAX_ENVELOPE_LIFETIME_S / 3600} hours after iat`);
    if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now + ENVELOPE_SKEW_S))
      return refuse('envelope.nbf', 'the envelope is not valid yet (nbf)');

    const given = IDENTIFIER_CLAIMS.filter((k) => c[k] !== undefined);
    const claim = given.length === 1 ? given[0] : undefined;
    const raw = claim ? c[claim] : undefined;
    if (!claim || typeof raw !== 'string')
      return refuse('envelope.identifier', `exactly one of ${IDENTIFIER_CLAIMS.join(', ')} is required, as a string`);
    const system =
      claim === 'insured' ? ID_SYSTEMS.insuredMemberId : claim === 'publicPayer' ? ID_SYSTEMS.publicPayerMemberId : this.d.medicalIdSystem;
    const parsed = this.d.parseIdentifier(system, raw);
    // The value is never repeated, nor the parser's message (it may quote it): the rule only.
    if (!parsed.ok) return refuse('envelope.identifier', `${claim} is not a valid identifier (rule ${parsed.rule})`);
    let person =
      claim === 'medicalId' ? await this.d.store.byMedicalId(parsed.value) : await this.d.store.byIdentifier(system, parsed.value);
    if (!person) return refuse('envelope.person-unknown', `no registered person holds this ${claim}`);
    // A duplicate merged into another person: the survivor is who the identifier names (§3).
    for (let hop = 0; person?.status === 'merged' && person.mergedInto && hop < MAX_MERGE_HOPS; hop++) {
      person = await this.d.store.byKey(person.mergedInto);
    }
    if (!person || !researchVisible(person))
      return refuse('envelope.person-not-visible', `the person this ${claim} names is no longer served to research (retired or merged)`);

    const hash = crypto
      .createHash('sha256')
      .update(`medid/envelope-work/v1\u0000${audience}\u0000${sealer.org.kind}:${sealer.org.code}\u0000${work}`)
      .digest();
    if (!(await this.d.store.recordWork(hash, new Date(exp * 1000), this.d.now())))
      return refuse('envelope.replay', 'this work number was redeemed already: an envelope is redeemed once');
    return { ok: true, work, sealer, person };
  }
}
