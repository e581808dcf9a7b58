/**
 * #consents — 同意: the person's Consents, and writing them: a deny or permit for one
 * organization (one met in the access or service-use records, or one entered by code), joining a
 * regional network (a permit naming it), opting out of the whole system (a deny naming no one,
 * after a confirmation that says what it does), and withdrawing one (PUT with status inactive).
 * A refusal shows the server's OperationOutcome text.
 */
import { isOptOut, normalizeCode, personConsent, validCode, withdrawn } from './consent.js';
import { byId, dl, fill, h } from './dom.js';
import { formatPeriod, formatTime, orgKindLabel, purposeLabel, statusLabel, t } from './i18n.js';
import { CONSENT_KINDS, orgIdentifier, orgKey, orgLabel, resolveOrgs } from './orgs.js';

/**
 * @typedef {import('./orgs.js').OrgContext & { session: import('./auth.js').Session }} Ctx
 * @typedef {import('./orgs.js').OrgIdentifier} OrgIdentifier
 * @typedef {{ items: any[], loading: boolean, error: string | undefined, networks: OrgIdentifier[], busy: boolean }} State
 */

const OTHER = '__other__';

/** @type {WeakMap<object, State>} */
const states = new WeakMap();

/** @param {unknown} e */
const messageOf = (e) => (e instanceof Error ? e.message || t('error.network') : String(e));

/** @param {string} id */
const input = (id) => /** @type {HTMLInputElement} */ (byId(id));
/** @param {string} id */
const select = (id) => /** @type {HTMLSelectElement} */ (byId(id));

/** @param {Ctx} ctx */
function stateOf(ctx) {
  let st = states.get(ctx);
  if (!st) {
    st = { items: [], loading: true, error: undefined, networks: [], busy: false };
    states.set(ctx, st);
  }
  return st;
}

/**
 * Reads the person's Consents (and the regional networks in the directory, once).
 * @param {Ctx} ctx
 */
export async function load(ctx) {
  const st = stateOf(ctx);
  st.loading = true;
  renderList(ctx, st);
  const pid = encodeURIComponent(ctx.session.patient);
  const networks =
    st.networks.length > 0
      ? Promise.resolve(st.networks)
      : ctx.fhir
          .all(`Organization?identifier=${encodeURIComponent(`${ctx.config.systems.regionalNetwork}|`)}&_count=100`, 2)
          .then(({ resources }) =>
            resources.flatMap((o) =>
              (o?.identifier ?? [])
                .map(orgIdentifier)
                .filter((/** @type {OrgIdentifier | undefined} */ i) => i?.system === ctx.config.systems.regionalNetwork),
            ),
          )
          .catch(() => []);
  try {
    const [{ resources }, nets] = await Promise.all([ctx.fhir.all(`Consent?patient=${pid}&_count=100`), networks]);
    st.networks = nets;
    const actors = resources.flatMap((c) => provisionsOf(c).flatMap((p) => p.actors));
    await resolveOrgs(
      ctx,
      [...actors.map((a) => orgIdentifier(a?.reference?.identifier)), ...nets],
      actors.map((a) => a?.reference?.reference).filter((r) => typeof r === 'string'),
    );
    resources.sort((a, b) => (b?.dateTime ?? b?.meta?.lastUpdated ?? '').localeCompare(a?.dateTime ?? a?.meta?.lastUpdated ?? ''));
    st.items = resources;
    st.error = undefined;
  } catch (e) {
    st.error = messageOf(e);
  }
  st.loading = false;
  if (states.get(ctx) === st) render(ctx);
}

/**
 * The provisions of a Consent that permit or deny, nested ones included.
 * @param {any} c
 * @returns {{ type: string, actors: any[], period: any, purposes: string[] }[]}
 */
function provisionsOf(c) {
  /** @type {{ type: string, actors: any[], period: any, purposes: string[] }[]} */
  const out = [];
  const visit = (/** @type {any} */ p) => {
    if (!p) return;
    if (p.type === 'permit' || p.type === 'deny')
      out.push({
        type: p.type,
        actors: Array.isArray(p.actor) ? p.actor : [],
        period: p.period,
        purposes: (p.purpose ?? []).map((/** @type {any} */ x) => x?.code).filter(Boolean),
      });
    for (const sub of p.provision ?? []) visit(sub);
  };
  visit(c?.provision);
  return out;
}

/**
 * @param {Ctx} ctx
 * @param {any[]} actors
 */
function actorsText(ctx, actors) {
  if (actors.length === 0) return t('consent.everyone');
  return actors
    .map((a) =>
      orgLabel(ctx, orgIdentifier(a?.reference?.identifier), {
        display: a?.reference?.display ?? a?.reference?.reference,
        reference: a?.reference?.reference,
      }),
    )
    .join('、');
}

/** @param {Ctx} ctx */
export function render(ctx) {
  const st = states.get(ctx);
  if (!st) return;
  renderList(ctx, st);
  renderForms(ctx, st);
}

/**
 * @param {Ctx} ctx
 * @param {State} st
 */
function renderList(ctx, st) {
  const status = st.loading
    ? t('loading')
    : st.error
      ? t('error.load', { reason: st.error })
      : st.items.length === 0
        ? t('none')
        : t('loaded.count', { n: st.items.length });
  const box = byId('consents-status');
  if (box.textContent !== status) box.textContent = status;
  byId('opt-out-banner').hidden = !st.items.some(isOptOut);
  const ul = byId('consents-list');
  ul.hidden = st.items.length === 0;
  fill(
    ul,
    st.items.map((c) => {
      const provisions = provisionsOf(c);
      const first = provisions[0];
      const effect = first ? t(first.type === 'permit' ? 'consent.permit' : 'consent.deny') : t('unknown');
      const actor = first ? actorsText(ctx, first.actors) : t('consent.unresolved');
      const active = c?.status === 'active';
      return h(
        'li',
        { class: `entry consent-${active ? 'active' : 'inactive'}`, 'data-consent-id': c?.id },
        h('h3', { class: 'entry-title' }, `${effect} — ${actor}`),
        dl([
          [t('consent.status'), statusLabel(c?.status)],
          [t('consent.date'), formatTime(c?.dateTime)],
          [t('consent.period'), formatPeriod(first?.period)],
          [t('consent.purposes'), first && first.purposes.length > 0 ? first.purposes.map((p) => purposeLabel(p)).join('、') : undefined],
        ]),
        provisions.length > 1
          ? h(
              'ul',
              { class: 'sub-provisions' },
              provisions
                .slice(1)
                .map((p) => h('li', {}, `${t(p.type === 'permit' ? 'consent.permit' : 'consent.deny')} — ${actorsText(ctx, p.actors)}`)),
            )
          : null,
        active && c?.id
          ? h(
              'button',
              {
                type: 'button',
                class: 'button-secondary',
                'aria-label': t('consent.withdrawLabel', { effect, actor }),
                disabled: st.busy,
                onclick: () => void withdraw(ctx, st, c),
              },
              t('consent.withdraw'),
            )
          : null,
      );
    }),
  );
}

/**
 * Fills the forms' choices, keeping what is selected.
 * @param {Ctx} ctx
 * @param {State} st
 */
function renderForms(ctx, st) {
  const orgSelect = select('consent-org');
  const chosen = orgSelect.value;
  const seen = [...ctx.seen.values()]
    .map((id) => ({ key: orgKey(id), label: orgLabel(ctx, id) }))
    .sort((a, b) => a.label.localeCompare(b.label));
  fill(
    orgSelect,
    seen.map((o) => h('option', { value: o.key }, o.label)),
    h('option', { value: OTHER }, t('consent.add.orgOther')),
  );
  orgSelect.value = [...orgSelect.options].some((o) => o.value === chosen) ? chosen : (orgSelect.options[0]?.value ?? OTHER);
  byId('consent-other').hidden = orgSelect.value !== OTHER;

  const kindSelect = select('consent-kind');
  const kind = kindSelect.value;
  fill(
    kindSelect,
    CONSENT_KINDS.map((k) => h('option', { value: k }, orgKindLabel(k))),
  );
  if (kind) kindSelect.value = kind;

  const netSelect = select('network-select');
  const net = netSelect.value;
  fill(
    netSelect,
    st.networks.map((id) => h('option', { value: id.value }, orgLabel(ctx, id))),
    h('option', { value: OTHER }, t('consent.add.orgOther')),
  );
  netSelect.value = [...netSelect.options].some((o) => o.value === net) ? net : (netSelect.options[0]?.value ?? OTHER);
  byId('network-select-field').hidden = st.networks.length === 0;
  byId('network-code-field').hidden = st.networks.length > 0 && netSelect.value !== OTHER;
}

/**
 * Writes a Consent and reloads the list; true when the server took it.
 * @param {Ctx} ctx
 * @param {State} st
 * @param {() => Promise<unknown>} write
 * @param {string} errorId where a refusal is shown
 */
async function save(ctx, st, write, errorId) {
  const errorBox = byId(errorId);
  errorBox.textContent = '';
  byId('consents-error').textContent = '';
  st.busy = true;
  setBusy(true);
  byId('consents-status').textContent = t('consent.saving');
  try {
    await write();
  } catch (e) {
    errorBox.textContent = t('consent.refused', { reason: messageOf(e) });
    byId('consents-status').textContent = '';
    return false;
  } finally {
    st.busy = false;
    setBusy(false);
  }
  await load(ctx);
  return true;
}

/** @param {boolean} busy */
function setBusy(busy) {
  for (const b of document.querySelectorAll('#consents button')) {
    if (!(b instanceof HTMLButtonElement) || b.id === 'opt-out-cancel') continue;
    b.disabled = busy;
    b.setAttribute('aria-busy', String(busy));
  }
}

/**
 * @param {Ctx} ctx
 * @param {State} st
 * @param {any} consent
 */
async function withdraw(ctx, st, consent) {
  const { meta, ...rest } = consent;
  const ok = await save(
    ctx,
    st,
    () =>
      ctx.fhir.request(`Consent/${encodeURIComponent(consent.id)}`, {
        method: 'PUT',
        body: withdrawn(rest),
        headers: meta?.versionId ? { 'If-Match': `W/"${meta.versionId}"` } : {},
      }),
    'consents-error',
  );
  if (ok) {
    byId('consents-status').textContent = t('consent.withdrawn');
    byId('consents-heading').focus();
  }
}

/**
 * The organization the Consent form names, or the error to show.
 * @param {Ctx} ctx
 * @returns {{ actor: OrgIdentifier } | { error: string }}
 */
function formActor(ctx) {
  const chosen = select('consent-org').value;
  if (chosen && chosen !== OTHER) {
    const id = ctx.seen.get(chosen);
    if (id) return { actor: id };
  }
  const kind = select('consent-kind').value;
  const code = normalizeCode(input('consent-code').value);
  if (code === '') return { error: t('consent.add.noOrg') };
  if (!validCode(kind, code)) return { error: t('consent.add.badCode', { kind: orgKindLabel(kind) }) };
  const system = /** @type {Record<string, string>} */ (ctx.config.systems)[kind];
  if (!system) return { error: t('consent.add.noOrg') };
  return { actor: { system, value: code } };
}

/**
 * Wires the forms and the opt-out dialog once.
 * @param {() => Ctx | undefined} current
 */
export function init(current) {
  select('consent-org').addEventListener('change', () => {
    byId('consent-other').hidden = select('consent-org').value !== OTHER;
  });
  select('network-select').addEventListener('change', () => {
    byId('network-code-field').hidden = select('network-select').value !== OTHER;
  });

  byId('consent-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const ctx = current();
    if (!ctx) return;
    const st = stateOf(ctx);
    const code = input('consent-code');
    const errorBox = byId('consent-form-error');
    const found = formActor(ctx);
    if ('error' in found) {
      errorBox.textContent = found.error;
      code.setAttribute('aria-invalid', 'true');
      if (select('consent-org').value === OTHER) code.focus();
      else select('consent-org').focus();
      return;
    }
    code.removeAttribute('aria-invalid');
    const effect = /** @type {'permit' | 'deny'} */ (
      /** @type {HTMLInputElement | null} */ (document.querySelector('input[name="effect"]:checked'))?.value === 'permit'
        ? 'permit'
        : 'deny'
    );
    void save(
      ctx,
      st,
      () => ctx.fhir.request('Consent', { method: 'POST', body: personConsent(ctx.session.patient, effect, found.actor) }),
      'consent-form-error',
    ).then((ok) => {
      if (!ok) return;
      code.value = '';
      byId('consents-status').textContent = t('consent.saved');
    });
  });

  byId('network-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const ctx = current();
    if (!ctx) return;
    const st = stateOf(ctx);
    const errorBox = byId('network-form-error');
    const chosen = select('network-select').value;
    const useCode = st.networks.length === 0 || chosen === OTHER;
    const codeInput = input('network-code');
    const code = useCode ? normalizeCode(codeInput.value) : chosen;
    if (!validCode('regionalNetwork', code)) {
      errorBox.textContent = code === '' ? t('consent.add.noOrg') : t('consent.add.badCode', { kind: orgKindLabel('regionalNetwork') });
      codeInput.setAttribute('aria-invalid', 'true');
      codeInput.focus();
      return;
    }
    codeInput.removeAttribute('aria-invalid');
    const actor = { system: ctx.config.systems.regionalNetwork, value: code };
    void save(
      ctx,
      st,
      () => ctx.fhir.request('Consent', { method: 'POST', body: personConsent(ctx.session.patient, 'permit', actor) }),
      'network-form-error',
    ).then((ok) => {
      if (!ok) return;
      codeInput.value = '';
      byId('consents-status').textContent = t('consent.saved');
    });
  });

  const dialog = /** @type {HTMLDialogElement} */ (byId('opt-out-dialog'));
  const opener = byId('opt-out');
  opener.addEventListener('click', () => {
    if (current()) dialog.showModal();
  });
  byId('opt-out-cancel').addEventListener('click', () => dialog.close('cancel'));
  dialog.addEventListener('close', () => opener.focus());
  byId('opt-out-confirm').addEventListener('click', () => {
    const ctx = current();
    dialog.close('confirm');
    if (!ctx) return;
    void save(
      ctx,
      stateOf(ctx),
      () => ctx.fhir.request('Consent', { method: 'POST', body: personConsent(ctx.session.patient, 'deny', undefined) }),
      'consents-error',
    ).then((ok) => {
      if (ok) byId('consents-status').textContent = t('consent.saved');
    });
  });
}
