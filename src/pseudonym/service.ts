/**
 * The pseudonymization service (PS, privacy-design.md §1, §4): a person key (KID) and a domain
 * in, that domain's pseudonym out — and back, for authorized linkage only. It holds the
 * pseudonym keys (as operations) and the domain list; it never sees a My Number, a medical ID
 * or medical data, and the registry never holds its keys (the floor plan's lint keeps the two
 * folders apart). Pseudonyms derive from the KID, so a new medical ID (a lost card) keeps every
 * pseudonym, and a new KID (a change that breaks linkage) changes all of them.
 *
 * Option R of the design: AES-256 of the 16-byte KID under the domain's key — a permutation, so
 * pseudonyms never collide within a domain and reversal needs no index.
 */
import type { PseudonymDomainList } from './domain-list.ts';
import type { PseudonymKeys } from './keys.ts';
import { formatPseudonym, KID_BYTES, parsePseudonym } from './pseudonym.ts';

export class UnknownDomainError extends Error {
  override name = 'UnknownDomainError';
}

export class PseudonymService {
  private readonly keys: PseudonymKeys;
  readonly domains: PseudonymDomainList;

  constructor(deps: { keys: PseudonymKeys; domains: PseudonymDomainList }) {
    this.keys = deps.keys;
    this.domains = deps.domains;
  }

  private async assertDomain(code: string): Promise<void> {
    if (!(await this.domains.has(code)))
      throw new UnknownDomainError('not a pseudonym domain (the authority keeps the list: medid domain add)');
  }

  /** The person's pseudonym in `domain`, under the current key version. */
  async pseudonymOf(kid: Uint8Array, domain: string): Promise<string> {
    if (kid.length !== KID_BYTES) throw new RangeError(`a person key is ${KID_BYTES} bytes`);
    await this.assertDomain(domain);
    return formatPseudonym(this.keys.version, this.keys.prp(domain, this.keys.version, kid));
  }

  /** Many at once, for exports: the domain is checked once. */
  async pseudonymsOf(kids: readonly Uint8Array[], domain: string): Promise<string[]> {
    await this.assertDomain(domain);
    const v = this.keys.version;
    return kids.map((kid) => {
      if (kid.length !== KID_BYTES) throw new RangeError(`a person key is ${KID_BYTES} bytes`);
      return formatPseudonym(v, this.keys.prp(domain, v, kid));
    });
  }

  /**
   * The person key behind a pseudonym of `domain` — for authorized linkage only (the caller is
   * the linkage service acting on an approved order). Undefined when the text is not a
   * pseudonym; a KeyVersionError when it is one of a key version this service does not hold.
   * Any well-formed text decrypts to some key, so the caller looks the key up.
   */
  async kidOf(pseudonym: string, domain: string): Promise<Buffer | undefined> {
    await this.assertDomain(domain);
    const p = parsePseudonym(pseudonym);
    return p ? this.keys.prpInverse(domain, p.version, p.block) : undefined;
  }
}
