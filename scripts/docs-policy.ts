/**
 * `npm run docs:policy`: writes the access policy, generated from ACCESS_POLICY
 * (src/privacy/access-policy-table.ts), into the README (between its markers) and into the IG
 * page ig/access-policy.md. test/unit/privacy/policy-docs.test.ts fails when either is stale.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { accessPolicyMarkdown, IG_POLICY_PAGE, README_MARKERS, withPolicy } from '../src/privacy/access-policy-table.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const readme = path.join(ROOT, 'README.md');
fs.writeFileSync(readme, withPolicy(fs.readFileSync(readme, 'utf8')));
fs.writeFileSync(path.join(ROOT, 'ig', 'access-policy.md'), IG_POLICY_PAGE(accessPolicyMarkdown()));
process.stdout.write(`access policy written to README.md (${README_MARKERS.start}) and ig/access-policy.md\n`);
