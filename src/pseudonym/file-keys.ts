/**
 * Pseudonym keys from a master secret in a file (MEDID_PSEUDONYM_KEY_FILE, or generated once
 * into MEDID_DATA_DIR/keys for development): K_{d,v} = HKDF-SHA256(master_v, info =
 * "medid/dp/v<v>/<d>") (RFC 5869), one AES-256 key per domain. The master never enters the
 * database, and it is not the registry secret: the registry's My Number key and the pseudonym
 * keys have different holders (privacy-design.md §1).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { PseudonymKeys } from './keys.ts';
import { KeyVersionError } from './keys.ts';

export class PseudonymKeyFileError extends Error {
  override name = 'PseudonymKeyFileError';
}

/** Raw bytes, or base64/base64url text of at least 32 bytes. */
function decode(raw: Buffer): Buffer {
  const t = raw.toString('utf8').trim();
  if (/^[A-Za-z0-9+/=_-]{43,}$/.test(t)) {
    const b = Buffer.from(t, t.includes('-') || t.includes('_') ? 'base64url' : 'base64');
    if (b.length >= 32) return b;
  }
  return raw;
}

/** The master secret: from `file`, or generated once into `<dataDir>/keys/pseudonym-master`. */
export function loadPseudonymMaster(src: { file: string | undefined; dataDir: string }): { master: Buffer; generated: boolean } {
  if (src.file) {
    let raw: Buffer;
    try {
      raw = fs.readFileSync(src.file);
    } catch (e) {
      throw new PseudonymKeyFileError(`MEDID_PSEUDONYM_KEY_FILE ${src.file}: ${(e as Error).message}`);
    }
    const master = decode(raw);
    if (master.length < 32)
      throw new PseudonymKeyFileError(`MEDID_PSEUDONYM_KEY_FILE ${src.file}: needs at least 32 bytes of key material`);
    return { master, generated: false };
  }
  const file = path.join(src.dataDir, 'keys', 'pseudonym-master');
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    fs.writeFileSync(file, crypto.randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
    return { master: decode(fs.readFileSync(file)), generated: true };
  } catch {
    return { master: decode(fs.readFileSync(file)), generated: false };
  }
}

export class FilePseudonymKeys implements PseudonymKeys {
  readonly version = 1;
  private readonly master: Buffer;
  private readonly keys = new Map<string, crypto.KeyObject>();

  constructor(master: Buffer) {
    this.master = Buffer.from(master);
  }

  private key(domain: string, version: number): crypto.KeyObject {
    if (version !== this.version) throw new KeyVersionError(`pseudonym key version ${version} is not held here`);
    let k = this.keys.get(domain);
    if (!k) {
      const bytes = Buffer.from(crypto.hkdfSync('sha256', this.master, Buffer.alloc(0), `medid/dp/v${version}/${domain}`, 32));
      k = crypto.createSecretKey(bytes);
      this.keys.set(domain, k);
    }
    return k;
  }

  prp(domain: string, version: number, block: Uint8Array): Buffer {
    const c = crypto.createCipheriv('aes-256-ecb', this.key(domain, version), null).setAutoPadding(false);
    return Buffer.concat([c.update(block), c.final()]);
  }

  prpInverse(domain: string, version: number, block: Uint8Array): Buffer {
    const d = crypto.createDecipheriv('aes-256-ecb', this.key(domain, version), null).setAutoPadding(false);
    return Buffer.concat([d.update(block), d.final()]);
  }
}
