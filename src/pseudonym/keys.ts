/**
 * The pseudonymization service's keys, as operations (privacy-design.md §4, §7): callers get a
 * pseudorandom permutation of one 16-byte block per domain and key version, never key bytes,
 * so a hardware back end (PKCS#11 `CKM_AES_ECB` on a non-exportable key) can replace the file
 * without any caller changing.
 */
export interface PseudonymKeys {
  /** The key version new pseudonyms are made under. */
  readonly version: number;
  /** AES-256 of one block under the domain's key of `version`. */
  prp(domain: string, version: number, block: Uint8Array): Buffer;
  /** The inverse: only the service itself, for authorized linkage. */
  prpInverse(domain: string, version: number, block: Uint8Array): Buffer;
  /**
   * AES-256 of blocks under a linkage order's key K_L = HKDF-SHA256(master, salt = the
   * order's salt, info = "medid/link/<order>") (privacy-design.md §5): once the salt is
   * destroyed, no one — the service included — can make the order's project pseudonyms again.
   */
  prpLink(salt: Uint8Array, order: string, blocks: readonly Uint8Array[]): Buffer[];
  /** HMAC-SHA256 under the key for `purpose` (HKDF(master, info "medid/mac/<purpose>")): one-way pseudonyms, e.g. the access log's. */
  mac(purpose: string, data: Uint8Array): Buffer;
}

export class KeyVersionError extends Error {
  override name = 'KeyVersionError';
}
