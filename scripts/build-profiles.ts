/**
 * `npm run profiles`: compiles profiles/fsh (FSH) with SUSHI into JSON under profiles/<Type>/
 * (committed, so the server starts without compiling) and ig/examples/ (the IG's examples).
 * Snapshots are generated (`--snapshot`): the validator needs them.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureR4CorePackage } from './fhir-core-package.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FSH = path.join(ROOT, 'profiles', 'fsh');
const OUT = path.join(FSH, 'fsh-generated');
// SUSHI writes next to its project; a concurrent build elsewhere must not share that folder.
const TYPES = ['StructureDefinition', 'NamingSystem', 'SearchParameter', 'OperationDefinition', 'CodeSystem', 'ValueSet', 'Measure'];
// Where the JSON goes; tests point these elsewhere to check the committed JSON is up to date.
const PROFILES_OUT = process.env['MEDID_PROFILES_OUT'] ?? path.join(ROOT, 'profiles');
const EXAMPLES = process.env['MEDID_EXAMPLES_OUT'] ?? path.join(ROOT, 'ig', 'examples');

function main(): number {
  ensureR4CorePackage();
  fs.rmSync(OUT, { recursive: true, force: true });
  // SUSHI writes to <out>/fsh-generated.
  const sushi = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'sushi'), ['build', FSH, '--snapshot', '--out', FSH], {
    stdio: 'inherit',
  });
  if (sushi.status !== 0) {
    process.stderr.write('profiles: SUSHI failed\n');
    return 1;
  }
  const produced = fs.readdirSync(path.join(OUT, 'resources')).filter((f) => f.endsWith('.json'));
  // Replace what the previous build wrote, so removed FSH leaves no stale JSON behind.
  for (const t of TYPES) fs.rmSync(path.join(PROFILES_OUT, t), { recursive: true, force: true });
  fs.rmSync(EXAMPLES, { recursive: true, force: true });
  fs.mkdirSync(EXAMPLES, { recursive: true });
  let definitions = 0;
  for (const f of produced) {
    const r = JSON.parse(fs.readFileSync(path.join(OUT, 'resources', f), 'utf8')) as { resourceType: string; id: string };
    const json = `${JSON.stringify(r, null, 2)}\n`;
    if (r.id.startsWith('example-')) {
      fs.writeFileSync(path.join(EXAMPLES, `${r.resourceType}-${r.id}.json`), json);
    } else if (TYPES.includes(r.resourceType)) {
      fs.mkdirSync(path.join(PROFILES_OUT, r.resourceType), { recursive: true });
      fs.writeFileSync(path.join(PROFILES_OUT, r.resourceType, `${r.id}.json`), json);
      definitions++;
    } else {
      process.stderr.write(`profiles: ${f} is neither a definition nor an example-… instance\n`);
      return 1;
    }
  }
  fs.rmSync(OUT, { recursive: true, force: true });
  process.stdout.write(`profiles: ${definitions} definitions in profiles/, ${produced.length - definitions} examples in ig/examples/\n`);
  return 0;
}

process.exit(main());
