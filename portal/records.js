/**
 * The person's records that are read only: #services — 受診の記録 (EpisodeOfCare: the service-use
 * episodes eligibility confirmations record, one per medical institution), #coverage — 保険の記録
 * (Coverage), #notices — お知らせ (Communications addressed to the person: registry mismatches,
 * break-the-glass, and whatever else medid tells them).
 */
import { byId, dl, fill, h } from './dom.js';
import { formatPeriod, formatTime, lossReasonLabel, statusLabel, t } from './i18n.js';
import { orgIdentifier, orgLabel, resolveOrgs } from './orgs.js';

/**
 * @typedef {import('./orgs.js').OrgContext & { session: import('./auth.js').Session }} Ctx
 * @typedef {{ items: any[], more: boolean, loading: boolean, error: string | undefined }} List
 * @typedef {{ services: List, coverage: List, notices: List }} State
 */

/** @type {WeakMap<object, State>} */
const states = new WeakMap();

/** @returns {List} */
const emptyList = () => ({ items: [], more: false, loading: true, error: undefined });

/** @param {unknown} e */
const messageOf = (e) => (e instanceof Error ? e.message || t('error.network') : String(e));

/** Newest first by a date-like string (missing ones last). */
const byDateDesc = (/** @type {(x: any) => string | undefined} */ key) => (/** @type {any} */ a, /** @type {any} */ b) =>
  (key(b) ?? '').localeCompare(key(a) ?? '');

/**
 * @param {Ctx} ctx
 * @param {List} list
 * @param {string} path
 * @param {(items: any[]) => Promise<void>} prepare
 */
async function fetchInto(ctx, list, path, prepare) {
  try {
    const { resources, more } = await ctx.fhir.all(path);
    await prepare(resources);
    list.items = resources;
    list.more = more;
  } catch (e) {
    list.error = messageOf(e);
  }
  list.loading = false;
}

/** @param {Ctx} ctx */
export async function load(ctx) {
  /** @type {State} */
  const st = { services: emptyList(), coverage: emptyList(), notices: emptyList() };
  states.set(ctx, st);
  render(ctx);
  const pid = encodeURIComponent(ctx.session.patient);
  await Promise.all([
    fetchInto(ctx, st.services, `EpisodeOfCare?patient=${pid}&_count=100`, async (items) => {
      items.sort(byDateDesc((e) => e?.period?.end ?? e?.period?.start));
      await resolveOrgs(
        ctx,
        items.map((e) => orgIdentifier(e?.managingOrganization?.identifier)),
        items.map((e) => e?.managingOrganization?.reference).filter((r) => typeof r === 'string'),
      );
    }).then(() => states.get(ctx) === st && renderServices(ctx, st.services)),
    fetchInto(
      ctx,
      st.coverage,
      `Coverage?beneficiary=${encodeURIComponent(`Patient/${ctx.session.patient}`)}&_count=100`,
      async (items) => {
        items.sort(byDateDesc((c) => c?.period?.start));
        await resolveOrgs(
          ctx,
          items.flatMap((c) => (c?.payor ?? []).map((/** @type {any} */ p) => orgIdentifier(p?.identifier))),
          items.flatMap((c) => (c?.payor ?? []).map((/** @type {any} */ p) => p?.reference)).filter((r) => typeof r === 'string'),
        );
      },
    ).then(() => states.get(ctx) === st && renderCoverage(ctx, st.coverage)),
    fetchInto(
      ctx,
      st.notices,
      `Communication?recipient=${encodeURIComponent(`Patient/${ctx.session.patient}`)}&_count=100`,
      async (items) => {
        items.sort(byDateDesc((c) => c?.sent));
        await resolveOrgs(
          ctx,
          items.map((c) => orgIdentifier(c?.sender?.identifier)),
          [],
        );
      },
    ).then(() => states.get(ctx) === st && renderNotices(ctx, st.notices)),
  ]);
}

/** @param {Ctx} ctx */
export function render(ctx) {
  const st = states.get(ctx);
  if (!st) return;
  renderServices(ctx, st.services);
  renderCoverage(ctx, st.coverage);
  renderNotices(ctx, st.notices);
}

/**
 * The section's status line and its list.
 * @param {string} name section id
 * @param {List} list
 * @param {(item: any) => HTMLElement} view
 */
function renderSection(name, list, view) {
  const status = list.loading
    ? t('loading')
    : list.error
      ? t('error.load', { reason: list.error })
      : list.items.length === 0
        ? t('none')
        : t(list.more ? 'loaded.more' : 'loaded.count', { n: list.items.length });
  const box = byId(`${name}-status`);
  if (box.textContent !== status) box.textContent = status;
  box.classList.toggle('error', list.error !== undefined);
  const ul = byId(`${name}-list`);
  fill(ul, list.items.map(view));
  ul.hidden = list.items.length === 0;
}

/**
 * @param {Ctx} ctx
 * @param {List} list
 */
function renderServices(ctx, list) {
  const x = ctx.config.extensions;
  renderSection('services', list, (e) => {
    const mo = e?.managingOrganization ?? {};
    const name = orgLabel(ctx, orgIdentifier(mo.identifier), { display: mo.display, reference: mo.reference });
    const visits = (e?.extension ?? []).find((/** @type {any} */ v) => v?.url === x.serviceUseVisits)?.valueInteger;
    return h(
      'li',
      { class: 'entry', 'data-id': e?.id },
      h('h3', { class: 'entry-title' }, name),
      dl([
        [t('services.period'), formatPeriod(e?.period)],
        [t('services.visits'), typeof visits === 'number' ? String(visits) : undefined],
        [t('services.status'), statusLabel(e?.status)],
      ]),
    );
  });
}

/**
 * 記号・番号・枝番 from JP Core's Coverage extensions.
 * @param {Ctx} ctx
 * @param {any} c
 */
function cardOf(ctx, c) {
  const base = ctx.config.extensions.jpCoverageInsuredPerson;
  const ext = (/** @type {string} */ part) => (c?.extension ?? []).find((/** @type {any} */ e) => e?.url === `${base}${part}`)?.valueString;
  const parts = [ext('Symbol'), ext('Number'), ext('SubNumber')];
  return parts.some((p) => p !== undefined) ? parts.map((p) => p ?? '—').join('・') : undefined;
}

/**
 * @param {Ctx} ctx
 * @param {List} list
 */
function renderCoverage(ctx, list) {
  const x = ctx.config.extensions;
  renderSection('coverage', list, (c) => {
    const payors = (c?.payor ?? []).map((/** @type {any} */ p) =>
      orgLabel(ctx, orgIdentifier(p?.identifier), { display: p?.display, reference: p?.reference }),
    );
    const loss = (c?.extension ?? []).find((/** @type {any} */ e) => e?.url === x.coverageLossReason)?.valueCoding;
    const memberId = (c?.identifier ?? []).find((/** @type {any} */ i) => i?.system === ctx.config.systems.insuredMemberId)?.value;
    const type = c?.type?.text ?? c?.type?.coding?.find((/** @type {any} */ k) => k?.display)?.display;
    return h(
      'li',
      { class: 'entry', 'data-id': c?.id },
      h('h3', { class: 'entry-title' }, payors.join('、') || t('unknown')),
      dl([
        [t('coverage.type'), type],
        [t('coverage.card'), cardOf(ctx, c)],
        [t('coverage.memberId'), memberId],
        [t('coverage.period'), formatPeriod(c?.period)],
        [t('coverage.status'), statusLabel(c?.status)],
        [t('coverage.loss'), loss ? (lossReasonLabel(loss.code) ?? loss.display) : undefined],
      ]),
    );
  });
}

/**
 * @param {Ctx} ctx
 * @param {List} list
 */
function renderNotices(ctx, list) {
  renderSection('notices', list, (c) => {
    const btg = (c?.reasonCode ?? []).some((/** @type {any} */ r) => (r?.coding ?? []).some((/** @type {any} */ k) => k?.code === 'BTG'));
    const sender = c?.sender
      ? orgLabel(ctx, orgIdentifier(c.sender.identifier), { display: c.sender.display, reference: c.sender.reference })
      : undefined;
    const texts = (c?.payload ?? [])
      .map((/** @type {any} */ p) => p?.contentString)
      .filter((/** @type {unknown} */ s) => typeof s === 'string');
    return h(
      'li',
      { class: `entry${btg ? ' entry-btg' : ''}`, 'data-id': c?.id, 'data-btg': btg ? 'true' : undefined },
      h('h3', { class: 'entry-title' }, h('time', { datetime: c?.sent ?? '' }, formatTime(c?.sent) ?? t('unknown'))),
      btg ? h('p', { class: 'badge badge-btg' }, h('strong', {}, t('notice.btg'))) : null,
      dl([[t('notice.sender'), sender]]),
      texts.map((/** @type {string} */ s) => h('p', { class: 'notice-text' }, s)),
    );
  });
}
