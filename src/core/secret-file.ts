/**
 * A secret kept outside the database (privacy-design.md §1, §7): read from a file an operator
 * names (an environment variable), or — for development — generated once into the data
 * directory. The file is created atomically (written under a temporary name, then linked into
 * place, which fails if another process got there first), so a second process starting at the
 * same moment, or a crash mid-write, never leaves or reads a short key; and a secret shorter
 * than 32 bytes is refused whichever way it came.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export class SecretFileError extends Error {
  override name = 'SecretFileError';
}

export const MIN_SECRET_BYTES = 32;

/** Raw bytes, or base64/base64url text of at least 32 bytes. */
function decode(raw: Buffer): Buffer {
  const t = raw.toString('utf8').trim();
  if (/^[A-Za-z0-9+/=_-]{43,}$/.test(t)) {
    const b = Buffer.from(t, t.includes('-') || t.includes('_') ? 'base64url' : 'base64');
    if (b.length >= MIN_SECRET_BYTES) return b;
  }
  return raw;
}

function read(file: string, what: string): Buffer {
  let raw: Buffer;
  try {
    raw = fs.readFileSync(file);
  } catch (e) {
    throw new SecretFileError(`${what} ${file}: ${(e as Error).message}`);
  }
  const secret = decode(raw);
  if (secret.length < MIN_SECRET_BYTES)
    throw new SecretFileError(`${what} ${file}: needs at least ${MIN_SECRET_BYTES} bytes of key material`);
  return secret;
}

/** A secret file's bytes (raw, or base64 of at least 32 bytes): a key ceremony's input. */
export function readSecretFile(file: string, what: string): Buffer {
  return read(file, what);
}

/**
 * The secret from `file` (named by `envName`), or from `<dataDir>/keys/<fileName>`, generated
 * there the first time. `generated` says this call created it.
 */
export function loadOrCreateSecret(o: { file: string | undefined; envName: string; dataDir: string; fileName: string }): {
  secret: Buffer;
  generated: boolean;
} {
  if (o.file) return { secret: read(o.file, o.envName), generated: false };
  const file = path.join(o.dataDir, 'keys', o.fileName);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  if (!fs.existsSync(file)) {
    const tmp = `${file}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`;
    fs.writeFileSync(tmp, crypto.randomBytes(MIN_SECRET_BYTES).toString('base64'), { mode: 0o600 });
    try {
      fs.linkSync(tmp, file);
      return { secret: read(file, o.fileName), generated: true };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  return { secret: read(file, o.fileName), generated: false };
}
