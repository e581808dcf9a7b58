/**
 * The person's portal (issue 17 item 6) as static pages under /portal: plain ES modules and CSS
 * from `portal/` (no framework, no bundler, nothing from another origin), plus three generated
 * files:
 *
 * - `/portal/config.json` (and the same as an ES module, `/portal/config.js`): the FHIR base,
 *   the authorization and token endpoints, the client_id `medid-portal`, its redirect URI and
 *   scope, and the identifier systems and extensions the portal reads and writes — so the page
 *   names no URL of its own;
 * - `/portal/log-verify.js`: audit/verify/log-verify.ts with its types stripped at start-up
 *   (`module.stripTypeScriptTypes`), so the browser checks the access log with the very code
 *   `npx medid log verify` runs.
 *
 * Public: none of it holds personal data (the page reads the person's records with the token it
 * gets). Every answer has a strict Content-Security-Policy (scripts, styles and connections to
 * this origin and the FHIR base's only; no inline script or style; no framing), `Cache-Control:
 * no-cache` with an ETag (a deployment's new files are seen at once, unchanged ones cost a 304),
 * and `Referrer-Policy: no-referrer` (the authorization code arrives in the page's URL).
 * The files are read once, when the router is made: a missing or broken portal shows at start.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import type { Request, Response, Router } from 'express';
import { PORTAL_CLIENT_ID, PORTAL_SCOPE } from '../auth/person-sign-in.ts';
import { authEndpoints } from '../auth/smart-configuration.ts';
import { EXTENSIONS, ID_SYSTEMS, SYSTEMS } from '../core/systems.ts';

/** The portal's files in the repository (portal/ beside src/). */
export const PORTAL_DIR = fileURLToPath(new URL('../../portal/', import.meta.url));
/** The dependency-free access-log verifier the portal runs (types stripped). */
export const LOG_VERIFY_SOURCE = fileURLToPath(new URL('../audit/verify/log-verify.ts', import.meta.url));

/** What the portal is told about the server it runs against (GET /portal/config.json). */
export interface PortalConfig {
  fhirBaseUrl: string;
  /** medid's OAuth issuer: the `iss` an authorization response must carry (RFC 9207) when it carries one. */
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  clientId: string;
  redirectUri: string;
  scope: string;
  /** Identifier systems of organizations (actors of Consents, agents of AuditEvents, payors). */
  systems: {
    medicalInstitutionCode: string;
    insurerNumber: string;
    regionalNetwork: string;
    utilizingDatabase: string;
    authorityUnit: string;
    organization: string;
    clientId: string;
    insuredMemberId: string;
  };
  extensions: { serviceUseVisits: string; coverageLossReason: string; jpCoverageInsuredPerson: string };
  codeSystems: { actReason: string; participationType: string };
}

/** The portal's redirect URI: `<origin of the FHIR base>/portal/` (the URI the built-in client is registered with). */
export function portalRedirectUri(baseUrl: string): string {
  return `${new URL(baseUrl).origin}/portal/`;
}

export function portalConfig(baseUrl: string): PortalConfig {
  const e = authEndpoints(baseUrl);
  return {
    fhirBaseUrl: baseUrl,
    issuer: e.issuer,
    authorizationEndpoint: `${e.issuer}/authorize`,
    tokenEndpoint: e.tokenEndpoint,
    clientId: PORTAL_CLIENT_ID,
    redirectUri: portalRedirectUri(baseUrl),
    scope: PORTAL_SCOPE,
    systems: {
      medicalInstitutionCode: ID_SYSTEMS.medicalInstitutionCode,
      insurerNumber: ID_SYSTEMS.insurerNumber,
      regionalNetwork: ID_SYSTEMS.regionalNetwork,
      utilizingDatabase: ID_SYSTEMS.utilizingDatabase,
      authorityUnit: ID_SYSTEMS.authorityUnit,
      organization: ID_SYSTEMS.organization,
      clientId: ID_SYSTEMS.clientId,
      insuredMemberId: ID_SYSTEMS.insuredMemberId,
    },
    extensions: {
      serviceUseVisits: EXTENSIONS.serviceUseVisits,
      coverageLossReason: EXTENSIONS.coverageLossReason,
      jpCoverageInsuredPerson: EXTENSIONS.jpCoverageInsuredPerson,
    },
    codeSystems: { actReason: SYSTEMS.actReason, participationType: SYSTEMS.participationType },
  };
}

/**
 * The verifier as browser JavaScript: log-verify.ts with its types stripped. Throws when it
 * cannot be stripped, or when it has come to import something (a browser could not resolve it).
 */
export function logVerifyJs(source = LOG_VERIFY_SOURCE): string {
  const js = stripTypeScriptTypes(fs.readFileSync(source, 'utf8'), { mode: 'strip' });
  if (/^\s*import[\s{*'"]|^\s*export\s[^\n;]*\sfrom\s*['"]|\bimport\s*\(|\brequire\s*\(/m.test(js))
    throw new Error(`${source} imports another module: the portal serves it alone, so it must stay dependency-free`);
  return `${js}\n// Served by medid: ${path.basename(source)} with its types stripped (module.stripTypeScriptTypes).\n`;
}

const JS = 'text/javascript; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': JS,
  '.mjs': JS,
  '.css': 'text/css; charset=utf-8',
  '.json': JSON_TYPE,
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/vnd.microsoft.icon',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

interface Served {
  type: string;
  body: Buffer;
  etag: string;
}

const served = (type: string, body: string | Buffer): Served => {
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return { type, body: buf, etag: `"${crypto.createHash('sha256').update(buf).digest('base64url').slice(0, 27)}"` };
};

/** Every file under `dir` with a type in TYPES, by its URL path (`/app.js`, `/sections/access.js`); dotfiles skipped. */
function readSite(dir: string): Map<string, Served> {
  const out = new Map<string, Served>();
  if (!fs.existsSync(dir)) return out;
  const walk = (sub: string): void => {
    for (const d of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      if (d.name.startsWith('.')) continue;
      const rel = path.posix.join(sub, d.name);
      if (d.isDirectory()) walk(rel);
      else if (d.isFile()) {
        const type = TYPES[path.extname(d.name).toLowerCase()];
        if (type) out.set(`/${rel}`, served(type, fs.readFileSync(path.join(dir, rel))));
      }
    }
  };
  walk('');
  return out;
}

/** The portal's Content-Security-Policy: its own origin (and the FHIR base's, if another) and nothing else. */
export function portalCsp(baseUrl: string): string {
  const api = new URL(baseUrl).origin;
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "font-src 'self'",
    `connect-src 'self' ${api}`,
    "form-action 'self'",
    "base-uri 'none'",
    "object-src 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function portalRouter(o: { baseUrl: string; dir?: string }): Router {
  const dir = o.dir ?? PORTAL_DIR;
  const files = readSite(dir);
  const config = JSON.stringify(portalConfig(o.baseUrl), null, 2);
  files.set('/config.json', served(JSON_TYPE, `${config}\n`));
  files.set('/config.js', served(JS, `export default ${config};\n`));
  // Made now, not on the first request: a verifier that cannot be served is a start-up error.
  files.set('/log-verify.js', served(JS, logVerifyJs()));
  const index = files.get('/index.html');
  const csp = portalCsp(o.baseUrl);

  const r = express.Router();
  r.use((req: Request, res: Response, next) => {
    res.setHeader('Content-Security-Policy', csp);
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      res.status(405).type('text/plain').send('The portal is static: GET only.\n');
      return;
    }
    next();
  });
  r.use((req: Request, res: Response) => {
    // `/portal` → `/portal/`: the page's relative URLs (and the registered redirect URI) need the slash.
    const [pathname = '', query] = req.originalUrl.split(/\?(.*)/s);
    if (req.path === '/' && !pathname.endsWith('/')) {
      res.redirect(301, `${pathname}/${query === undefined ? '' : `?${query}`}`);
      return;
    }
    const file = req.path === '/' ? index : files.get(req.path);
    if (!file) {
      res
        .status(404)
        .type('text/plain')
        .send(index ? 'Not found in the portal.\n' : 'The portal is not installed (no portal/index.html beside src/).\n');
      return;
    }
    res.setHeader('ETag', file.etag);
    if (req.headers['if-none-match'] === file.etag) {
      res.status(304).end();
      return;
    }
    res.setHeader('Content-Type', file.type);
    res.setHeader('Content-Length', String(file.body.length));
    res.status(200).end(req.method === 'HEAD' ? undefined : file.body);
  });
  return r;
}
