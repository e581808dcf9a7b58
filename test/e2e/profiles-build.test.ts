/**
 * The committed JSON in profiles/ and ig/examples/ is what `npm run profiles` (SUSHI) makes of
 * profiles/fsh: an FSH change without a rebuild fails here, not in production.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

function tree(dir: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const walk = (d: string, rel: string): void => {
    for (const f of fs.readdirSync(d).sort()) {
      const p = path.join(d, f);
      if (fs.statSync(p).isDirectory()) {
        if (f !== 'fsh') walk(p, `${rel}${f}/`);
      } else if (f.endsWith('.json')) {
        out[`${rel}${f}`] = JSON.parse(fs.readFileSync(p, 'utf8'));
      }
    }
  };
  walk(dir, '');
  return out;
}

describe('npm run profiles', () => {
  it('reproduces the committed profiles and examples from the FSH sources', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'medid-profiles-'));
    const profiles = path.join(out, 'profiles');
    const examples = path.join(out, 'examples');
    const r = spawnSync(process.execPath, ['scripts/build-profiles.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 300_000,
      env: { ...process.env, MEDID_PROFILES_OUT: profiles, MEDID_EXAMPLES_OUT: examples },
    });
    expect(r.status, r.stderr + r.stdout.slice(-2000)).toBe(0);
    expect(r.stdout).toContain('0 Errors');
    expect(tree(profiles)).toEqual(tree(path.join(ROOT, 'profiles')));
    expect(tree(examples)).toEqual(tree(path.join(ROOT, 'ig', 'examples')));
    fs.rmSync(out, { recursive: true, force: true });
  }, 300_000);
});
