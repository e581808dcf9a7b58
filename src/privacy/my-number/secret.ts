/**
 * The registry's secret for keyed MACs (My Number). It comes from MEDID_SECRET_FILE (32+
 * random bytes, base64 or raw), or for the embedded default is generated once into the data
 * directory (core/secret-file.ts). Keys never live in the database (privacy-design.md §1, §7):
 * a leaked table of MACs is useless without this file.
 */
import { loadOrCreateSecret } from '../../core/secret-file.ts';

export interface SecretSource {
  /** MEDID_SECRET_FILE */
  file: string | undefined;
  dataDir: string;
}

export function loadRegistrySecret(src: SecretSource): { secret: Buffer; generated: boolean } {
  return loadOrCreateSecret({ file: src.file, envName: 'MEDID_SECRET_FILE', dataDir: src.dataDir, fileName: 'registry-secret' });
}
