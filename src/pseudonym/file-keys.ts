/**
 * Pseudonym keys from a master secret in a file (MEDID_PSEUDONYM_KEY_FILE, or generated once
 * into MEDID_DATA_DIR/keys for development): K_{d,v} = HKDF-SHA256(master_v, info =
 * "medid/dp/v<v>/<d>") (RFC 5869), one AES-256 key per domain. The master never enters the
 * database, and it is not the registry secret: the registry's My Number key and the pseudonym
 * keys have different holders (privacy-design.md §1).
 */
import crypto from 'node:crypto';
import { decryptBlock, encryptBlock } from './aes-block.ts';
import { loadOrCreateSecret } from '../core/secret-file.ts';
import type { PseudonymKeys } from './keys.ts';
import { KeyVersionError } from './keys.ts';

/** The master secret: from MEDID_PSEUDONYM_KEY_FILE, or generated once into `<dataDir>/keys/pseudonym-master`. */
export function loadPseudonymMaster(src: { file: string | undefined; dataDir: string }): { master: Buffer; generated: boolean } {
  const { secret, generated } = loadOrCreateSecret({
    file: src.file,
    envName: 'MEDID_PSEUDONYM_KEY_FILE',
    dataDir: src.dataDir,
    fileName: 'pseudonym-master',
  });
  return { master: secret, generated };
}

export class FilePseudonymKeys implements PseudonymKeys {
  readonly version = 1;
  private readonly master: Buffer;
  /** By `<version>/<domain>`: a rotation holds two versions of one domain's key. */
  private readonly keys = new Map<string, crypto.KeyObject>();

  constructor(master: Buffer) {
    this.master = Buffer.from(master);
  }

  private key(domain: string, version: number): crypto.KeyObject {
    if (version !== this.version) throw new KeyVersionError(`pseudonym key version ${version} is not held here`);
    const name = `${version}/${domain}`;
    let k = this.keys.get(name);
    if (!k) {
      const bytes = Buffer.from(crypto.hkdfSync('sha256', this.master, Buffer.alloc(0), `medid/dp/v${version}/${domain}`, 32));
      k = crypto.createSecretKey(bytes);
      this.keys.set(name, k);
    }
    return k;
  }

  prp(domain: string, version: number, block: Uint8Array): Buffer {
    return encryptBlock(this.key(domain, version), block);
  }

  private readonly macKeys = new Map<string, crypto.KeyObject>();

  mac(purpose: string, data: Uint8Array): Buffer {
    let k = this.macKeys.get(purpose);
    if (!k) {
      k = crypto.createSecretKey(Buffer.from(crypto.hkdfSync('sha256', this.master, Buffer.alloc(0), `medid/mac/${purpose}`, 32)));
      this.macKeys.set(purpose, k);
    }
    return crypto.createHmac('sha256', k).update(data).digest();
  }

  prpLink(salt: Uint8Array, order: string, blocks: readonly Uint8Array[]): Buffer[] {
    if (salt.length < 16) throw new RangeError('a linkage order salt is at least 16 bytes');
    // Never cached: the key lives only as long as one call, so a destroyed salt leaves nothing behind.
    const key = Buffer.from(crypto.hkdfSync('sha256', this.master, salt, `medid/link/${order}`, 32));
    try {
      const keyObject = crypto.createSecretKey(key);
      return blocks.map((b) => encryptBlock(keyObject, b));
    } finally {
      key.fill(0);
    }
  }

  prpInverse(domain: string, version: number, block: Uint8Array): Buffer {
    return decryptBlock(this.key(domain, version), block);
  }
}
