/** Who the audit log records for a CLI command run by an operator of the authority. */
import os from 'node:os';
import type { Principal } from '../core/principal.ts';

export function cliPrincipal(command: string, scope: string): Principal {
  return {
    clientId: 'medid-cli',
    clientName: `medid ${command} (${os.userInfo().username})`,
    org: { kind: 'authority', code: 'cli' },
    purposeOfUse: 'HOPERAT',
    scopes: [],
    scope,
    tokenId: 'cli',
    expiresAt: 0,
  };
}
