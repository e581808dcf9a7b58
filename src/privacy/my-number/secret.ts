/**
 * The registry's secret for keyed MACs (My Number). It comes from MEDID_SECRET_FILE (32+
 * random bytes, base64 or raw), or for the embedded default is generated once into the data
 * directory. Keys never live in the database (privacy-design.md §1, §7): a leaked table of
 * MACs is useless without this file.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export class SecretError extends Error {
  override name = 'SecretError';
}

function decode(text: Buffer): Buffer {
  const t = text.toString('utf8').trim();
  if (/^[A-Za-z0-9+/=_-]{43,}$/.test(t)) {
    const b = Buffer.from(t, t.includes('-') || t.includes('_') ? 'base64url' : 'base64');
    if (b.length >= 32) return b;
  }
  return text;
}

export interface SecretSource {
  /** MEDID_SECRET_FILE */
  file: string | undefined;
  dataDir: string;
}

export function loadRegistrySecret(src: SecretSource): { secret: Buffer; generated: boolean } {
  if (src.file) {
    let raw: Buffer;
    try {
      raw = fs.readFileSync(src.file);
    } catch (e) {
      throw new SecretError(`MEDID_SECRET_FILE ${src.file}: ${(e as Error).message}`);
    }
    const secret = decode(raw);
    if (secret.length < 32) throw new SecretError(`MEDID_SECRET_FILE ${src.file}: needs at least 32 bytes of key material`);
    return { secret, generated: false };
  }
  const file = path.join(src.dataDir, 'keys', 'registry-secret');
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    fs.writeFileSync(file, crypto.randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
    return { secret: decode(fs.readFileSync(file)), generated: true };
  } catch {
    return { secret: decode(fs.readFileSync(file)), generated: false };
  }
}
