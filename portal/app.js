/**
 * The person's portal: sign-in, then the person's records in five sections (#access, #services,
 * #coverage, #consents, #notices), each loaded on its own and re-drawn when the language changes.
 * Everything comes from medid's public API with the person's token; see config.json.
 */
import { authorizationUrl, canSignIn, completeSignIn, currentSession, SignInError, signOut } from './auth.js';
import { byId, fill } from './dom.js';
import { Fhir } from './fhir.js';
import { initialLang, lang, setLang, t } from './i18n.js';
import * as access from './access.js';
import * as consents from './consents.js';
import * as records from './records.js';

/**
 * @typedef {import('./fhir.js').PortalConfig} PortalConfig
 * @typedef {import('./auth.js').Session} Session
 * @typedef {import('./orgs.js').OrgContext & { session: Session, reload: () => void }} Ctx
 */

/** @type {Ctx | undefined} */
let ctx;

/**
 * @param {string} text
 * @param {boolean} [isError]
 */
function announce(text, isError = false) {
  byId('app-status').textContent = isError ? '' : text;
  byId('app-error').textContent = isError ? text : '';
}

/** Draws everything that depends on the language. */
function renderAll() {
  const sw = byId('lang-switch');
  sw.setAttribute('lang', lang() === 'ja' ? 'en' : 'ja');
  if (!ctx) return;
  renderWho();
  access.render(ctx);
  records.render(ctx);
  consents.render(ctx);
}

/** @type {string | undefined} */
let personName;

function renderWho() {
  const who = byId('who');
  who.hidden = !ctx;
  who.textContent = personName ? t('signedin.as', { name: personName }) : t('signedin.anonymous');
}

/**
 * The name to greet the person by: the kanji (IDE) representation when there is one.
 * @param {any} patient
 */
function nameOf(patient) {
  const names = Array.isArray(patient?.name) ? patient.name : [];
  const ide = names.find((/** @type {any} */ n) => n?.extension?.some((/** @type {any} */ e) => e?.valueCode === 'IDE'));
  const n = ide ?? names.find((/** @type {any} */ x) => x?.use === 'official') ?? names[0];
  if (!n) return undefined;
  if (typeof n.text === 'string' && n.text !== '') return n.text;
  const parts = [n.family, ...(n.given ?? [])].filter((x) => typeof x === 'string' && x !== '');
  return parts.length > 0 ? parts.join(' ') : undefined;
}

/**
 * @param {PortalConfig} config
 * @param {Session} session
 */
function showRecords(config, session) {
  const fhir = new Fhir(config, session.accessToken, () => {
    signOut();
    ctx = undefined;
    showSignIn();
    announce(t('signin.expired'), true);
  });
  ctx = { config, session, fhir, names: new Map(), seen: new Map(), reload: () => void loadAll() };
  byId('signin').hidden = true;
  byId('records').hidden = false;
  byId('section-nav').hidden = false;
  byId('sign-out').hidden = false;
  renderWho();
  void fhir
    .get(`Patient/${encodeURIComponent(session.patient)}`)
    .then((p) => {
      personName = nameOf(p);
      renderWho();
    })
    .catch(() => undefined);
  void loadAll();
}

async function loadAll() {
  if (!ctx) return;
  const c = ctx;
  // Service use and access first: their organizations fill the Consent form's choices.
  await Promise.all([access.load(c), records.load(c), consents.load(c)]);
  if (ctx === c) consents.render(c);
}

function showSignIn() {
  byId('signin').hidden = false;
  byId('records').hidden = true;
  byId('section-nav').hidden = true;
  byId('sign-out').hidden = true;
  byId('who').hidden = true;
  personName = undefined;
  for (const id of ['access-list', 'services-list', 'coverage-list', 'consents-list', 'notices-list', 'log-status', 'chain-status'])
    fill(byId(id));
}

/** @returns {Promise<PortalConfig>} */
async function loadConfig() {
  const res = await fetch('config.json', { headers: { Accept: 'application/json' } });
  if (!res.ok) throw new Error(`config.json: ${res.status}`);
  return res.json();
}

async function main() {
  setLang(initialLang());
  renderAll();
  byId('lang-switch').addEventListener('click', () => {
    setLang(lang() === 'ja' ? 'en' : 'ja');
    renderAll();
  });
  let config;
  try {
    config = await loadConfig();
  } catch (e) {
    announce(t('error.load', { reason: e instanceof Error ? e.message : String(e) }), true);
    return;
  }
  access.init(() => ctx);
  consents.init(() => ctx);
  byId('sign-in').addEventListener('click', () => {
    if (!canSignIn()) {
      announce(t('signin.noCrypto'), true);
      return;
    }
    announce(t('signin.redirecting'));
    authorizationUrl(config).then(
      (url) => location.assign(url),
      (e) => announce(t('signin.failed', { reason: e instanceof Error ? e.message : String(e) }), true),
    );
  });
  byId('sign-out').addEventListener('click', () => {
    signOut();
    ctx = undefined;
    showSignIn();
    announce(t('signout.done'));
    byId('sign-in').focus();
  });

  const params = new URLSearchParams(location.search);
  if (params.has('code') || params.has('error')) {
    announce(t('signin.exchanging'));
    try {
      const session = await completeSignIn(config, params);
      if (session) {
        announce(t('signin.done'));
        showRecords(config, session);
        return;
      }
    } catch (e) {
      showSignIn();
      if (e instanceof SignInError) announce(e.detail && e.key === 'signin.failed' ? t(e.key, { reason: e.detail }) : t(e.key), true);
      else announce(t('signin.failed', { reason: e instanceof Error ? e.message : String(e) }), true);
      return;
    }
  }
  const session = currentSession();
  if (session) showRecords(config, session);
  else showSignIn();
}

void main();
