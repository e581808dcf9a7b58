/**
 * Organizations as the portal names them: by identifier (system + code) or by reference, their
 * name looked up in medid's directory once, falling back to what the record itself says.
 * Organizations met in the access and service-use records are remembered, so a Consent can be
 * written for one of them.
 */
import { orgKindLabel, t, lang } from './i18n.js';

/**
 * @typedef {import('./fhir.js').PortalConfig} PortalConfig
 * @typedef {import('./fhir.js').Fhir} Fhir
 * @typedef {{ system: string, value: string }} OrgIdentifier
 * @typedef {{ config: PortalConfig, fhir: Fhir, names: Map<string, string | undefined>, seen: Map<string, OrgIdentifier> }} OrgContext
 */

/** Kinds a Consent can name (src/privacy/consent/rules.ts). */
export const CONSENT_KINDS = /** @type {const} */ (['medicalInstitutionCode', 'insurerNumber', 'regionalNetwork', 'utilizingDatabase']);

/** @param {OrgIdentifier} id */
export const orgKey = (id) => `${id.system}|${id.value}`;

/**
 * The config.systems key of an identifier system, if it is one the portal knows.
 * @param {PortalConfig} config
 * @param {string | undefined} system
 * @returns {string | undefined}
 */
export function kindOf(config, system) {
  return Object.entries(config.systems).find(([, s]) => s === system)?.[0];
}

/**
 * An identifier with both system and value, or undefined.
 * @param {any} id
 * @returns {OrgIdentifier | undefined}
 */
export function orgIdentifier(id) {
  return typeof id?.system === 'string' && typeof id?.value === 'string' && id.value !== ''
    ? { system: id.system, value: id.value }
    : undefined;
}

/**
 * The name of an Organization resource (its name, else its first alias).
 * @param {any} org
 * @returns {string | undefined}
 */
const nameOf = (org) => (typeof org?.name === 'string' && org.name !== '' ? org.name : org?.alias?.[0]);

/**
 * Looks the names of these organizations up (each once), remembering those a Consent can name.
 * @param {OrgContext} ctx
 * @param {(OrgIdentifier | undefined)[]} ids
 * @param {string[]} [references] `Organization/id` references
 */
export async function resolveOrgs(ctx, ids, references = []) {
  const jobs = [];
  for (const id of ids) {
    if (!id) continue;
    const key = orgKey(id);
    const kind = kindOf(ctx.config, id.system);
    if (kind && /** @type {readonly string[]} */ (CONSENT_KINDS).includes(kind)) ctx.seen.set(key, id);
    if (ctx.names.has(key) || kind === 'clientId') continue;
    jobs.push(ctx.fhir.organizationByIdentifier(id.system, id.value).then((org) => ctx.names.set(key, nameOf(org))));
  }
  for (const ref of references) {
    if (ctx.names.has(ref) || !/^Organization\/[A-Za-z0-9\-.]{1,64}$/.test(ref)) continue;
    jobs.push(ctx.fhir.organizationByReference(ref).then((org) => ctx.names.set(ref, nameOf(org))));
  }
  await Promise.all(jobs);
}

/**
 * How an organization is written: its name with its kind and code, else its kind and code.
 * @param {OrgContext} ctx
 * @param {OrgIdentifier | undefined} id
 * @param {{ display?: string, reference?: string }} [fallback]
 */
export function orgLabel(ctx, id, fallback = {}) {
  const name =
    (id && ctx.names.get(orgKey(id))) ?? (fallback.reference ? ctx.names.get(fallback.reference) : undefined) ?? fallback.display;
  if (!id) return name ?? t('unknown');
  const kind = kindOf(ctx.config, id.system);
  const code = `${kind ? orgKindLabel(kind) : id.system} ${id.value}`;
  if (!name) return code;
  return lang() === 'ja' ? `${name}（${code}）` : `${name} (${code})`;
}
