/**
 * Pseudonym keys whose master stays in a key store (core/keys; privacy-design.md §4, §7) — a
 * PKCS#11 HSM's generic secret, used only through HMAC-SHA256.
 *
 * The hot path (a pseudonym per KID, tens of thousands a second) cannot afford an HSM call per
 * value: SoftHSM2 takes ~75 µs per HMAC, a network HSM milliseconds. So this is the standard
 * "working key derived inside the HSM" pattern: the HSM holds the HKDF pseudorandom key
 * PRK_v = HKDF-Extract(0^32, master_v) and computes each domain's key
 * K_{d,v} = HKDF-Expand(PRK_v, "medid/dp/v<v>/<d>", 32) = HMAC(PRK_v, info ‖ 0x01) — one HSM call
 * per domain and version, at first use — and the AES permutations run here on the cached
 * working keys. The master never leaves the HSM; a domain key does (to process memory, as with
 * the file back end), so a memory dump exposes the domains in use, not the master nor any other.
 *
 * The same derivation as FilePseudonymKeys (RFC 5869 with an empty salt), so a master moved into
 * the HSM by a ceremony (`medid keys import pseudonym-master`, which imports PRK_1) gives the same
 * pseudonyms. One difference: a linkage order's key cannot be HKDF(master, salt = s_L, …), which
 * needs the master as HMAC input; here K_L = HKDF(W_L, salt = s_L, "medid/link/<order>") with
 * W_L = HMAC(PRK, "medid/link-ikm/<order>" ‖ 0x01) derived in the HSM — destroying s_L still makes
 * K_L unrecoverable. Finish open linkage orders before moving the master into an HSM.
 *
 * Several versions can be held at once: the planned migration of a pseudonym key (README, "Keys
 * and the key ceremony") serves v and v+1 during its window.
 */
import crypto from 'node:crypto';
import { decryptBlock, encryptBlock } from './aes-block.ts';
import type { PseudonymKeys } from './keys.ts';
import { KeyVersionError } from './keys.ts';

/** HMAC-SHA256 under one version's PRK, inside the key store. */
export interface MasterPrf {
  readonly version: number;
  hmac(data: Uint8Array): Buffer;
}

/** PRK = HKDF-Extract(empty salt, master): what a ceremony imports in place of a master secret file. */
export function pseudonymPrk(master: Uint8Array): Buffer {
  return crypto.createHmac('sha256', Buffer.alloc(32)).update(master).digest();
}

export class PrfPseudonymKeys implements PseudonymKeys {
  /** The newest version held: new pseudonyms are made under it. */
  readonly version: number;
  private readonly masters: ReadonlyMap<number, MasterPrf>;
  private readonly keys = new Map<string, crypto.KeyObject>();
  private readonly macKeys = new Map<string, crypto.KeyObject>();

  constructor(masters: readonly MasterPrf[]) {
    if (masters.length === 0) throw new KeyVersionError('no pseudonym master key is active');
    this.masters = new Map(masters.map((m) => [m.version, m]));
    this.version = Math.max(...masters.map((m) => m.version));
  }

  /** HKDF-Expand(PRK_v, info, 32): one HMAC block, in the key store. */
  private expand(version: number, info: string): Buffer {
    const m = this.masters.get(version);
    if (!m) throw new KeyVersionError(`pseudonym key version ${version} is not held here`);
    return m.hmac(Buffer.concat([Buffer.from(info), Buffer.of(1)]));
  }

  private key(domain: string, version: number): crypto.KeyObject {
    const name = `${version}/${domain}`;
    let k = this.keys.get(name);
    if (!k) {
      const bytes = this.expand(version, `medid/dp/v${version}/${domain}`);
      k = crypto.createSecretKey(bytes);
      bytes.fill(0);
      this.keys.set(name, k);
    }
    return k;
  }

  prp(domain: string, version: number, block: Uint8Array): Buffer {
    return encryptBlock(this.key(domain, version), block);
  }

  prpInverse(domain: string, version: number, block: Uint8Array): Buffer {
    return decryptBlock(this.key(domain, version), block);
  }

  mac(purpose: string, data: Uint8Array): Buffer {
    let k = this.macKeys.get(purpose);
    if (!k) {
      // The oldest master held (version 1, like FilePseudonymKeys): one-way pseudonyms (the access
      // log's) stay put through a migration's window; retiring that master changes them too.
      const bytes = this.expand(Math.min(...this.masters.keys()), `medid/mac/${purpose}`);
      k = crypto.createSecretKey(bytes);
      bytes.fill(0);
      this.macKeys.set(purpose, k);
    }
    return crypto.createHmac('sha256', k).update(data).digest();
  }

  prpLink(salt: Uint8Array, order: string, blocks: readonly Uint8Array[]): Buffer[] {
    if (salt.length < 16) throw new RangeError('a linkage order salt is at least 16 bytes');
    const w = this.expand(this.version, `medid/link-ikm/${order}`);
    const key = Buffer.from(crypto.hkdfSync('sha256', w, salt, `medid/link/${order}`, 32));
    w.fill(0);
    try {
      const keyObject = crypto.createSecretKey(key);
      return blocks.map((b) => encryptBlock(keyObject, b));
    } finally {
      key.fill(0);
    }
  }
}
