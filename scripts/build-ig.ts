/**
 * `npm run ig`: builds medid's implementation guide as a static site in ig/site, served by the
 * server under /ig (which also runs this build itself, in the background, when the site is
 * missing or stale: src/http/ig-build.ts). Pages come from ig/*.md; profile element tables,
 * operation parameter tables with recorded request/response examples (ig/exchanges/), naming
 * systems, search parameters, terminology and examples are generated from the JSON in profiles/
 * and ig/. Every example, every published resource and the CapabilityStatement are validated
 * first (base R4 plus any medid profile it claims): one that fails, fails the build. The FHIR
 * package (package.tgz) is written into the site. The site is written beside and then swapped
 * in, so a server never serves half a build.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  CodeSystem,
  ElementDefinition,
  NamingSystem,
  OperationDefinition,
  Resource,
  SearchParameter,
  StructureDefinition,
} from '@medplum/fhirtypes';
import { marked } from 'marked';
import { MEDID_CANONICAL } from '../src/core/canonical.ts';
import { EXTENSIONS } from '../src/core/systems.ts';
import { loadDefinitions } from '../src/fhir/definitions/index.ts';
import { igFingerprint, removeLeftovers, STAMP_FILE } from '../src/http/ig-build.ts';
import { Validator } from '../src/repo/validator.ts';
import { capabilityStatement } from './ig-capability.ts';
import { exchangesSection, readExchanges } from './ig-exchange-pages.ts';
import { CSS, esc, langOf, page as frame, table } from './ig-html.ts';
import type { Lang } from './ig-html.ts';
import { PACKAGE_NAME, writePackage } from './ig-package.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// MEDID_IG_DIR lets tests build a copy (e.g. with a broken example) without touching ig/;
// MEDID_IG_SITE_DIR where the site goes (default: <ig>/site).
const IG = path.resolve(process.env['MEDID_IG_DIR'] ?? path.join(ROOT, 'ig'));
const SITE = path.resolve(process.env['MEDID_IG_SITE_DIR'] ?? path.join(IG, 'site'));
const PROFILES = path.join(ROOT, 'profiles');
const VERSION = /^version:\s*(\S+)/m.exec(fs.readFileSync(path.join(PROFILES, 'fsh', 'sushi-config.yaml'), 'utf8'))?.[1] ?? '0.0.0';
/** The date the package's CapabilityStatement carries: the build's day. */
const TODAY = new Date().toISOString().slice(0, 10);

function readDir<T>(dir: string): T[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as T);
}

function page(title: string, body: string, depth = 0, lang: Lang = 'en'): string {
  return frame(title, body, { depth, lang, version: VERSION });
}

function typeOf(e: ElementDefinition): string {
  return (e.type ?? [])
    .map(
      (t) =>
        t.code +
        (t.profile?.length ? `(${t.profile.map((p) => p.split('/').pop()).join(', ')})` : '') +
        (t.targetProfile?.length ? `(${t.targetProfile.map((p) => p.split('/').pop()).join(' | ')})` : ''),
    )
    .join(' | ');
}

function fixedOf(e: ElementDefinition): string {
  for (const [k, v] of Object.entries(e)) {
    if (k.startsWith('fixed') || k.startsWith('pattern')) return `<code>${esc(JSON.stringify(v))}</code>`;
  }
  return '';
}

/** The profile's own elements (its differential), with the cardinality they end up with. */
function elementTable(sd: StructureDefinition): string {
  const snap = new Map((sd.snapshot?.element ?? []).map((e) => [e.id, e]));
  const rows = (sd.differential?.element ?? []).map((d) => {
    const e = snap.get(d.id) ?? d;
    return [
      `<code>${esc(e.id)}</code>`,
      `${e.min ?? ''}..${e.max ?? ''}`,
      esc(typeOf(e)),
      e.mustSupport ? '<span class="ms">S</span>' : '',
      fixedOf(d),
      e.binding?.valueSet ? `${esc(e.binding.valueSet)} (${esc(e.binding.strength)})` : '',
      esc(d.short ?? e.short ?? ''),
    ];
  });
  return table(['Element', 'Card.', 'Type', 'MS', 'Fixed / pattern', 'Binding', 'Description'], rows);
}

function invariants(sd: StructureDefinition): string {
  const mine = (sd.snapshot?.element ?? []).flatMap((e) =>
    (e.constraint ?? [])
      .filter((c) => c.source === sd.url)
      .map((c) => [esc(c.key), esc(c.severity), esc(c.human), `<code>${esc(c.expression)}</code>`]),
  );
  return mine.length ? `<h2>Invariants</h2>${table(['Key', 'Severity', 'Rule', 'FHIRPath'], mine)}` : '';
}

async function main(): Promise<number> {
  const started = performance.now();
  const fingerprint = igFingerprint(IG, SITE);
  const defs = await loadDefinitions(PROFILES);
  const validator = new Validator(defs);
  const examples = readDir<Resource & { id: string }>(path.join(IG, 'examples'));
  const capability = await capabilityStatement(defs, TODAY);
  const failures: string[] = [];
  for (const r of [...defs.conformance, capability, ...examples]) {
    const rep = validator.check(r);
    for (const i of [...rep.base, ...rep.profile])
      failures.push(`${r.resourceType}/${r.id ?? '?'}: ${i.details?.text ?? ''} (${(i.expression ?? []).join(', ')})`);
  }
  if (failures.length > 0) {
    process.stderr.write(
      `ig: ${failures.length} validation error(s); the guide is not built:\n${failures.map((f) => `  ${f}`).join('\n')}\n`,
    );
    return 1;
  }

  // Written beside the site, then swapped in (a concurrent build's leftovers are removed).
  const out = `${SITE}.tmp-${process.pid}`;
  fs.rmSync(out, { recursive: true, force: true });
  for (const d of ['profiles', 'operations', 'examples']) fs.mkdirSync(path.join(out, d), { recursive: true });
  fs.writeFileSync(path.join(out, 'style.css'), CSS);

  const sds = readDir<StructureDefinition>(path.join(PROFILES, 'StructureDefinition'));
  const ops = readDir<OperationDefinition>(path.join(PROFILES, 'OperationDefinition'));
  const naming = readDir<NamingSystem>(path.join(PROFILES, 'NamingSystem'));
  const sps = readDir<SearchParameter>(path.join(PROFILES, 'SearchParameter'));
  const css = readDir<CodeSystem>(path.join(PROFILES, 'CodeSystem'));

  const exchanges = readExchanges(IG);
  const generated: Record<string, string> = {
    package: `<a href="package.tgz">package.tgz</a> (<code>${esc(PACKAGE_NAME)}#${esc(VERSION)}</code>)`,
    'identifier-systems': table(
      ['System', 'Name', 'Responsible', 'Rules'],
      naming.map((n) => [`<code>${esc(n.uniqueId?.[0]?.value)}</code>`, esc(n.name), esc(n.responsible), esc(n.description)]),
    ),
    'operation-scopes': table(
      ['Operation', 'Scope needed'],
      ops.map((o) => [
        `<a href="operations/${esc(o.code)}.html">$${esc(o.code)}</a>`,
        `<code>${esc(o.extension?.find((x) => x.url === EXTENSIONS.operationScope)?.valueString)}</code>`,
      ]),
    ),
  };
  for (const f of fs.readdirSync(IG).filter((x) => x.endsWith('.md'))) {
    const md = fs.readFileSync(path.join(IG, f), 'utf8').replace(/\{\{([a-z-]+)\}\}/g, (_m, k: string) => generated[k] ?? `{{${k}}}`);
    const title = /^# (.+)$/m.exec(md)?.[1] ?? f;
    fs.writeFileSync(path.join(out, f.replace(/\.md$/, '.html')), page(title, await marked.parse(md), 0, langOf(md)));
  }

  const profiles = sds.filter((s) => s.type !== 'Extension');
  const extensions = sds.filter((s) => s.type === 'Extension');
  for (const sd of sds) {
    const users = examples.filter((x) => x.meta?.profile?.includes(sd.url));
    const body = `<h1>${esc(sd.title ?? sd.name)}</h1><p><code>${esc(sd.url)}</code> — ${esc(sd.type)}, derived from <code>${esc(sd.baseDefinition)}</code></p>
<div>${await marked.parse(sd.description ?? '')}</div>${invariants(sd)}<h2>Elements</h2>${elementTable(sd)}
${users.length ? `<h2>Examples</h2><ul>${users.map((x) => `<li><a href="../examples/${esc(x.resourceType)}-${esc(x.id)}.html">${esc(x.resourceType)}/${esc(x.id)}</a></li>`).join('')}</ul>` : ''}
<p><a href="${esc(sd.id)}.json">StructureDefinition JSON</a></p>`;
    fs.writeFileSync(path.join(out, 'profiles', `${sd.id ?? ''}.html`), page(sd.title ?? sd.name ?? '', body, 1));
    fs.writeFileSync(path.join(out, 'profiles', `${sd.id ?? ''}.json`), JSON.stringify(sd, null, 2));
  }
  const list = (xs: StructureDefinition[]): string =>
    table(
      ['Name', 'Canonical', 'Type'],
      xs.map((s) => [`<a href="profiles/${esc(s.id)}.html">${esc(s.title ?? s.name)}</a>`, `<code>${esc(s.url)}</code>`, esc(s.type)]),
    );
  fs.writeFileSync(
    path.join(out, 'profiles.html'),
    page(
      'Profiles',
      `<h1>Profiles</h1><p>JP Core's package (jpfhir.jp.core 1.2.0) is not available to this build, so medid's profiles derive from the R4 base resources and restate the JP Core constraints they rely on; JP Core's extensions are defined here under JP Core's own canonical URLs, so data stays JP Core–conformant.</p>${list(profiles)}<h2>Extensions</h2>${list(extensions)}`,
    ),
  );

  for (const o of ops) {
    const params = (o.parameter ?? []).map((p) => [
      esc(p.use),
      esc(p.name),
      `${p.min ?? ''}..${esc(p.max)}`,
      esc(p.type),
      esc(p.binding?.valueSet ?? ''),
      esc(p.documentation),
    ]);
    const levels = [
      o.system && '[base]',
      o.type && (o.resource ?? []).map((r) => `[base]/${r}`).join(', '),
      o.instance && (o.resource ?? []).map((r) => `[base]/${r}/[id]`).join(', '),
    ]
      .filter(Boolean)
      .join('; ');
    const body = `<h1>$${esc(o.code)}: ${esc(o.title ?? o.name)}</h1><p><code>${esc(o.url)}</code>${o.base ? ` (based on <code>${esc(o.base)}</code>)` : ''}</p>
<p>${esc(o.description)}</p><p>Invoked at: ${esc(levels)}/$${esc(o.code)} · ${o.affectsState ? 'POST only' : 'GET or POST'} · scope: <code>${esc(o.extension?.find((x) => x.url === EXTENSIONS.operationScope)?.valueString)}</code></p>
${table(['Use', 'Name', 'Card.', 'Type', 'Binding', 'Documentation'], params)}
${exchangesSection(exchanges.get(o.id ?? ''))}`;
    fs.writeFileSync(path.join(out, 'operations', `${o.code}.html`), page(`$${o.code}`, body, 1));
  }
  fs.writeFileSync(
    path.join(out, 'operations.html'),
    page(
      'Operations',
      `<h1>Operations</h1>${table(
        ['Operation', 'Definition', 'Description', 'Example'],
        ops.map((o) => [
          `<a href="operations/${esc(o.code)}.html">$${esc(o.code)}</a>`,
          `<code>${esc(o.url)}</code>`,
          esc(o.description),
          exchanges.has(o.id ?? '') ? `<a href="operations/${esc(o.code)}.html#examples">request and response</a>` : '',
        ]),
      )}`,
    ),
  );

  fs.writeFileSync(
    path.join(out, 'search-parameters.html'),
    page(
      'Search parameters',
      `<h1>Search parameters</h1><p>Besides every R4 search parameter of type number, date, string, token, reference, quantity and uri (see the CapabilityStatement), medid defines:</p>${table(
        ['Code', 'Base', 'Type', 'Expression', 'Description'],
        sps.map((p) => [
          `<code>${esc(p.code)}</code>`,
          esc((p.base ?? []).join(', ')),
          esc(p.type),
          `<code>${esc(p.expression)}</code>`,
          esc(p.description),
        ]),
      )}`,
    ),
  );

  const cs = css
    .map(
      (c) =>
        `<h2 id="${esc(c.id)}">${esc(c.title ?? c.name)}</h2><p><code>${esc(c.url)}</code> — ${esc(c.description)}</p>${table(
          ['Code', 'Display'],
          (c.concept ?? []).map((k) => [`<code>${esc(k.code)}</code>`, esc(k.display)]),
        )}`,
    )
    .join('');
  fs.writeFileSync(path.join(out, 'terminology.html'), page('Terminology', `<h1>Terminology</h1>${cs}`));

  for (const x of examples) {
    const body = `<h1>${esc(x.resourceType)}/${esc(x.id)}</h1><p>Profiles: ${(x.meta?.profile ?? []).map((p) => `<code>${esc(p)}</code>`).join(', ') || 'base R4'} — validated when this guide was built.</p><pre>${esc(JSON.stringify(x, null, 2))}</pre>`;
    fs.writeFileSync(path.join(out, 'examples', `${x.resourceType}-${x.id}.html`), page(`${x.resourceType}/${x.id}`, body, 1));
  }
  fs.writeFileSync(
    path.join(out, 'examples.html'),
    page(
      'Examples',
      `<h1>Examples</h1>${table(
        ['Example', 'Profile'],
        examples.map((x) => [
          `<a href="examples/${esc(x.resourceType)}-${esc(x.id)}.html">${esc(x.resourceType)}/${esc(x.id)}</a>`,
          esc((x.meta?.profile ?? []).map((p) => p.split('/').pop()).join(', ')),
        ]),
      )}`,
    ),
  );

  const missing = ops.filter((o) => !exchanges.has(o.id ?? '')).map((o) => `$${o.code}`);
  if (missing.length) process.stderr.write(`ig: no recorded example for ${missing.join(', ')} (run npm run ig:exchanges)\n`);

  const packaged = await writePackage({
    version: VERSION,
    canonical: MEDID_CANONICAL,
    resources: [...defs.conformance, capability],
    examples,
    out: path.join(out, 'package.tgz'),
  });
  const ms = Math.round(performance.now() - started);
  fs.writeFileSync(path.join(out, STAMP_FILE), `${JSON.stringify({ fingerprint, built: new Date().toISOString(), ms })}\n`);
  swapIn(out);
  process.stdout.write(
    `ig: ${profiles.length} profiles, ${extensions.length} extensions, ${ops.length} operations, ${examples.length} examples validated; ${packaged.length} files in package.tgz; site in ${shown(SITE)} (${ms} ms)\n`,
  );
  return 0;
}

const shown = (p: string): string => (path.relative(ROOT, p).startsWith('..') ? p : path.relative(ROOT, p));

/** Replaces the site with the one just written, leaving no moment with half a site. */
function swapIn(out: string): void {
  const old = `${SITE}.old-${process.pid}`;
  if (fs.existsSync(SITE)) fs.renameSync(SITE, old);
  try {
    fs.renameSync(out, SITE);
  } catch (e) {
    // Another build swapped its site in first: equally fresh; keep it.
    if ((e as NodeJS.ErrnoException).code !== 'ENOTEMPTY' && (e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    fs.rmSync(out, { recursive: true, force: true });
  }
  fs.rmSync(old, { recursive: true, force: true });
  removeLeftovers(SITE);
}

process.exit(await main());
