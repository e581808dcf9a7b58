/**
 * The Consents a person writes, in the shape medid compiles into disclosure rules
 * (src/privacy/consent/rules.ts): active, scope patient-privacy, category LOINC 59284-0, the
 * person as patient, policyRule OPTIN / OPTOUT, and one provision — permit or deny — naming its
 * organization by identifier as an IRCP actor (医療機関コード, insurer number, regional-network
 * or utilizing-database code), or no actor at all for everyone (an opt-out of the whole system).
 * No imports: a test builds these and compiles them with the server's own rules.
 */

const CONSENT_SCOPE = 'http://terminology.hl7.org/CodeSystem/consentscope';
const LOINC = 'http://loinc.org';
const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const PARTICIPATION_TYPE = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';

/**
 * @typedef {{ system: string, value: string }} OrgIdentifier
 * @typedef {'permit' | 'deny'} Effect
 */

/**
 * A person's Consent: `effect` for the organization `actor` names, or for everyone without one.
 * @param {string} patientId
 * @param {Effect} effect
 * @param {OrgIdentifier | undefined} actor
 * @param {Date} [now]
 */
export function personConsent(patientId, effect, actor, now = new Date()) {
  return {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: CONSENT_SCOPE, code: 'patient-privacy' }] },
    category: [{ coding: [{ system: LOINC, code: '59284-0' }] }],
    patient: { reference: `Patient/${patientId}` },
    dateTime: now.toISOString(),
    policyRule: { coding: [{ system: ACT_CODE, code: effect === 'permit' ? 'OPTIN' : 'OPTOUT' }] },
    provision: {
      type: effect,
      ...(actor
        ? {
            actor: [
              {
                role: { coding: [{ system: PARTICIPATION_TYPE, code: 'IRCP' }] },
                reference: { identifier: { system: actor.system, value: actor.value } },
              },
            ],
          }
        : {}),
    },
  };
}

/**
 * The same Consent, withdrawn (status inactive: kept on record, no longer deciding anything).
 * @template {{ status?: string }} C
 * @param {C} consent
 * @returns {C}
 */
export const withdrawn = (consent) => ({ ...consent, status: 'inactive' });

/**
 * Whether a Consent is an opt-out of the whole system: active, and a deny naming no one.
 * @param {any} c
 */
export const isOptOut = (c) => c?.status === 'active' && c?.provision?.type === 'deny' && !(c.provision.actor?.length > 0);

/** Half-width digits from what a person typed (full-width digits, spaces and hyphens are common). */
export function normalizeCode(/** @type {string} */ text) {
  return text.replace(/[０-９]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0)).replace(/[\s\u3000\-ー－]/g, '');
}

/**
 * Whether `code` can be an organization's code of this kind (config.systems key): 医療機関コード
 * 10 digits, insurer number 6 or 8, others any short code.
 * @param {string} kind
 * @param {string} code
 */
export function validCode(kind, code) {
  if (kind === 'medicalInstitutionCode') return /^\d{10}$/.test(code);
  if (kind === 'insurerNumber') return /^(\d{6}|\d{8})$/.test(code);
  return /^[A-Za-z0-9._-]{1,64}$/.test(code);
}
