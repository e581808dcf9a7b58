/** The README's and the IG's access-policy tables are the policy's own (npm run docs:policy writes them). */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { accessPolicyMarkdown, IG_POLICY_PAGE, withPolicy } from '../../../src/privacy/access-policy-table.ts';
import { ACCESS_POLICY } from '../../../src/privacy/access-policy.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');

describe('access policy documents', () => {
  it('the README holds the table generated from ACCESS_POLICY (run npm run docs:policy when this fails)', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(withPolicy(readme)).toBe(readme);
  });

  it('the IG page is the same text', () => {
    expect(fs.readFileSync(path.join(ROOT, 'ig', 'access-policy.md'), 'utf8')).toBe(IG_POLICY_PAGE(accessPolicyMarkdown()));
  });

  it('names every kind, every operation a kind may call, and every type rule', () => {
    const md = accessPolicyMarkdown();
    for (const [kind, p] of Object.entries(ACCESS_POLICY)) {
      expect(md).toContain(`**${kind}**`);
      for (const op of p.operations) expect(md).toContain(`\`${op}\``);
      for (const t of Object.keys(p.types)) expect(md).toContain(`| ${t} |`);
    }
  });
});
