/**
 * The person's FHIR API: JSON requests with the bearer token, Bundles page by page, and the
 * server's OperationOutcome text when it refuses. Organization names are looked up once each.
 */

/**
 * @typedef {{
 *   fhirBaseUrl: string, issuer: string, authorizationEndpoint: string, tokenEndpoint: string,
 *   clientId: string, redirectUri: string, scope: string,
 *   systems: Record<'medicalInstitutionCode' | 'insurerNumber' | 'regionalNetwork' | 'utilizingDatabase' | 'authorityUnit' | 'organization' | 'clientId' | 'insuredMemberId', string>,
 *   extensions: Record<'serviceUseVisits' | 'coverageLossReason' | 'jpCoverageInsuredPerson', string>,
 *   codeSystems: Record<'actReason' | 'participationType', string>,
 * }} PortalConfig
 * @typedef {{ resourceType: string, id?: string, [key: string]: any }} Resource
 * @typedef {{ resources: Resource[], next: string | undefined }} Page
 */

/** A request the server refused or that did not reach it; `message` is the server's own words when it gave any. */
export class FhirError extends Error {
  /**
   * @param {number} status 0 when the server was not reached
   * @param {string} message
   */
  constructor(status, message) {
    super(message);
    this.name = 'FhirError';
    this.status = status;
  }
}

/**
 * The text of an OperationOutcome: its issues' details.text, else diagnostics.
 * @param {any} body
 */
export function outcomeText(body) {
  if (!body || body.resourceType !== 'OperationOutcome' || !Array.isArray(body.issue)) return undefined;
  const texts = body.issue.map((/** @type {any} */ i) => i?.details?.text ?? i?.diagnostics).filter(Boolean);
  return texts.length > 0 ? texts.join(' ') : undefined;
}

export class Fhir {
  /**
   * @param {PortalConfig} config
   * @param {string} token
   * @param {() => void} onUnauthorized called when the token is refused (expired)
   */
  constructor(config, token, onUnauthorized) {
    this.base = config.fhirBaseUrl.replace(/\/+$/, '');
    this.token = token;
    this.onUnauthorized = onUnauthorized;
    /** @type {Map<string, Promise<Resource | undefined>>} */
    this.orgs = new Map();
  }

  /**
   * `path` relative to the FHIR base (`Patient/1`, `_log/head`) or an absolute URL (a Bundle's next link).
   * @param {string} path
   * @param {{ method?: string, body?: unknown, headers?: Record<string, string> }} [o]
   * @returns {Promise<any>}
   */
  async request(path, o = {}) {
    const url = /^https?:/.test(path) ? path : `${this.base}/${path}`;
    /** @type {Record<string, string>} */
    const headers = { Accept: 'application/fhir+json', Authorization: `Bearer ${this.token}`, ...(o.headers ?? {}) };
    if (o.body !== undefined) headers['Content-Type'] = 'application/fhir+json';
    let res;
    try {
      res = await fetch(url, { method: o.method ?? 'GET', headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) });
    } catch {
      throw new FhirError(0, '');
    }
    const text = await res.text();
    let body;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (res.status === 401) this.onUnauthorized();
    if (!res.ok) throw new FhirError(res.status, outcomeText(body) ?? `${res.status} ${res.statusText}`.trim());
    return body;
  }

  /** @param {string} path */
  get(path) {
    return this.request(path);
  }

  /**
   * One page of a search (or the page a next link names).
   * @param {string} pathOrUrl
   * @returns {Promise<Page>}
   */
  async page(pathOrUrl) {
    const b = await this.get(pathOrUrl);
    const resources = (b?.entry ?? [])
      .filter((/** @type {any} */ e) => e?.search?.mode !== 'outcome' && e?.resource)
      .map((/** @type {any} */ e) => e.resource);
    const next = (b?.link ?? []).find((/** @type {any} */ l) => l.relation === 'next')?.url;
    return { resources, next };
  }

  /**
   * Every match of a search, following next links up to `maxPages` pages.
   * @param {string} path
   * @param {number} [maxPages]
   */
  async all(path, maxPages = 10) {
    /** @type {Resource[]} */
    const out = [];
    /** @type {string | undefined} */
    let next = path;
    for (let i = 0; next !== undefined && i < maxPages; i++) {
      const p = await this.page(next);
      out.push(...p.resources);
      next = p.next;
    }
    return { resources: out, more: next !== undefined };
  }

  /**
   * The Organization an identifier names (the directory is readable by everyone), looked up once.
   * @param {string} system
   * @param {string} value
   */
  organizationByIdentifier(system, value) {
    const key = `${system}|${value}`;
    let p = this.orgs.get(key);
    if (!p) {
      p = this.page(`Organization?identifier=${encodeURIComponent(key)}&_count=1`)
        .then((page) => page.resources[0])
        .catch(() => undefined);
      this.orgs.set(key, p);
    }
    return p;
  }

  /**
   * An Organization by its reference (`Organization/id`), looked up once.
   * @param {string} reference
   */
  organizationByReference(reference) {
    let p = this.orgs.get(reference);
    if (!p) {
      p = this.get(reference).catch(() => undefined);
      this.orgs.set(reference, p);
    }
    return p;
  }
}
