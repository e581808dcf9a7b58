/**
 * #access — 私の記録を見た人: the AuditEvents about the person, newest first, 50 a page; for each,
 * who (the organization the requesting agent names, by its name in the directory), why (purpose
 * of use), when, what and with what outcome; break-the-glass flagged; and its proof in the
 * access log checked in this browser (proof.js with the server's own verifier, log-verify.js);
 * and, once every event is read (the "load all" button pages through the rest), the person's chain
 * (#chain-status): their entries' seq has no gap from 1 and each prev is the leaf hash of the entry
 * before, so no access was hidden from them (privacy-design §6).
 */
import { byId, dl, fill, h } from './dom.js';
import { actionLabel, auditActionLabel, formatTime, outcomeLabel, purposeLabel, t, typeLabel } from './i18n.js';
import { orgIdentifier, orgLabel, resolveOrgs } from './orgs.js';
import { checkPersonChain, eachLimited, LogChecker, purposeOfEvent } from './proof.js';

/**
 * @typedef {import('./orgs.js').OrgContext & { session: import('./auth.js').Session }} Ctx
 * @typedef {import('./proof.js').ProofResult} ProofResult
 * @typedef {import('./proof.js').LogState} LogState
 * @typedef {import('./proof.js').ChainResult | { state: 'unavailable' }} ChainState
 * @typedef {{
 *   events: any[], next: string | undefined, results: Map<string, ProofResult | { state: 'checking' }>,
 *   log: LogState | undefined, checker: LogChecker | undefined, verifierError: string | undefined,
 *   loading: boolean, loadingAll: boolean, error: string | undefined, hideSelf: boolean, done: boolean,
 *   chain: ChainState | undefined, chainRun: number,
 * }} State
 */

/** The purpose a person's own requests run under (v3-ActReason PATRQT). */
const SELF_PURPOSE = 'PATRQT';
const PAGE_SIZE = 50;
/** Proofs checked at once. */
const PARALLEL = 4;

/** @type {WeakMap<object, State>} */
const states = new WeakMap();

/** @param {Ctx} ctx */
function stateOf(ctx) {
  let st = states.get(ctx);
  if (!st) {
    st = {
      events: [],
      next: undefined,
      results: new Map(),
      log: undefined,
      checker: undefined,
      verifierError: undefined,
      loading: false,
      loadingAll: false,
      error: undefined,
      hideSelf: false,
      done: false,
      chain: undefined,
      chainRun: 0,
    };
    states.set(ctx, st);
  }
  return st;
}

/** @param {unknown} e */
const messageOf = (e) => (e instanceof Error ? e.message || t('error.network') : String(e));

/** @param {unknown} id */
const domId = (id) => `ev-${String(id).replace(/[^A-Za-z0-9-]/g, '_')}`;

/**
 * Wires the page's fixed controls once.
 * @param {() => Ctx | undefined} current
 */
export function init(current) {
  byId('hide-self').addEventListener('change', (e) => {
    const ctx = current();
    if (!ctx) return;
    stateOf(ctx).hideSelf = /** @type {HTMLInputElement} */ (e.target).checked;
    renderList(ctx);
  });
  byId('access-more').addEventListener('click', () => {
    const ctx = current();
    if (ctx) void loadMore(ctx);
  });
  byId('access-all').addEventListener('click', () => {
    const ctx = current();
    if (ctx) void loadAll(ctx);
  });
}

/**
 * Reads the first page and checks its proofs (in the background).
 * @param {Ctx} ctx
 */
export async function load(ctx) {
  states.delete(ctx);
  const st = stateOf(ctx);
  st.hideSelf = /** @type {HTMLInputElement} */ (byId('hide-self')).checked;
  st.loading = true;
  render(ctx);
  /** @type {typeof import('../src/audit/verify/log-verify.ts') | undefined} */
  let V;
  try {
    V = await import('./log-verify.js');
  } catch (e) {
    st.verifierError = messageOf(e);
  }
  if (V) {
    const memoryKey = `medid.portal.log ${ctx.config.fhirBaseUrl}`;
    st.checker = new LogChecker(V, (path) => ctx.fhir.get(path), {
      load: () => JSON.parse(localStorage.getItem(memoryKey) ?? 'null') ?? undefined,
      save: (value) => localStorage.setItem(memoryKey, JSON.stringify(value)),
    });
  }
  try {
    const page = await ctx.fhir.page(`AuditEvent?patient=${encodeURIComponent(ctx.session.patient)}&_count=${PAGE_SIZE}`);
    await addEvents(ctx, st, page.resources);
    st.next = page.next;
  } catch (e) {
    st.error = messageOf(e);
  }
  st.loading = false;
  render(ctx);
  // A copy: events read later are verified by their own call.
  void verify(ctx, st, [...st.events]);
}

/** @param {Ctx} ctx */
async function loadMore(ctx) {
  const st = stateOf(ctx);
  if (!st.next || st.loading) return;
  st.loading = true;
  renderStatus(ctx, st);
  const before = st.events.length;
  try {
    const page = await ctx.fhir.page(st.next);
    await addEvents(ctx, st, page.resources);
    st.next = page.next;
  } catch (e) {
    st.error = messageOf(e);
  }
  st.loading = false;
  renderList(ctx);
  const added = st.events.slice(before);
  // Focus moves to the first new entry when the button goes away (nothing more to show).
  if (!st.next) {
    const first = added.find((ev) => !(st.hideSelf && describe(ctx, ev).self));
    const heading = first ? document.getElementById(`${domId(first.id)}-h`) : null;
    heading?.focus();
  }
  void verify(ctx, st, added);
}

/**
 * Reads every page left, then checks their proofs and the person's chain. Focus moves to the
 * chain's status (the button goes away), which then says how the check went.
 * @param {Ctx} ctx
 */
async function loadAll(ctx) {
  const st = stateOf(ctx);
  if (!st.next || st.loading) return;
  st.loading = true;
  st.loadingAll = true;
  renderList(ctx);
  const before = st.events.length;
  /** @type {Set<string>} */
  const seen = new Set();
  try {
    // A next link seen before would loop: stop there (the button stays).
    while (st.next && !seen.has(st.next) && states.get(ctx) === st) {
      seen.add(st.next);
      const page = await ctx.fhir.page(st.next);
      await addEvents(ctx, st, page.resources);
      st.next = page.next;
    }
  } catch (e) {
    st.error = messageOf(e);
  }
  if (states.get(ctx) !== st) return;
  st.loading = false;
  st.loadingAll = false;
  renderList(ctx);
  // The button is gone (everything read): focus to the chain's status; still there (a page failed): it keeps it.
  const all = byId('access-all');
  (all.hidden ? byId('chain-status') : all).focus();
  await verify(ctx, st, st.events.slice(before));
}

/**
 * @param {Ctx} ctx
 * @param {State} st
 * @param {any[]} events
 */
async function addEvents(ctx, st, events) {
  const ids = [];
  for (const ev of events) {
    if (ev?.resourceType !== 'AuditEvent' || ev.id === undefined) continue;
    for (const a of ev.agent ?? []) ids.push(orgIdentifier(a?.who?.identifier));
  }
  await resolveOrgs(ctx, ids);
  for (const ev of events) if (ev?.resourceType === 'AuditEvent' && ev.id !== undefined) st.events.push(ev);
}

/**
 * Checks the log, then each event's proof, updating each entry as its answer comes.
 * @param {Ctx} ctx
 * @param {State} st
 * @param {any[]} events
 */
async function verify(ctx, st, events) {
  if (!st.checker) {
    for (const ev of events) st.results.set(String(ev.id), { state: 'fail', reason: 'verifier', detail: st.verifierError });
    renderLog(ctx, st);
    renderList(ctx);
    await checkChainIfComplete(ctx, st);
    return;
  }
  const checker = st.checker;
  for (const ev of events) st.results.set(String(ev.id), { state: 'checking' });
  st.log = await checker.log();
  renderLog(ctx, st);
  await eachLimited(events, PARALLEL, async (ev) => {
    const r = await checker
      .verifyEvent(ev)
      .catch((e) => /** @type {ProofResult} */ ({ state: 'fail', reason: 'entry', detail: messageOf(e) }));
    if (states.get(ctx) !== st) return;
    st.results.set(String(ev.id), r);
    updateProof(ctx, st, ev);
  });
  if (states.get(ctx) !== st) return;
  renderLog(ctx, st);
  byId('access-status').textContent = `${statusText(st)} ${summaryText(st)}`;
  await checkChainIfComplete(ctx, st);
}

/**
 * Checks the person's chain when every event is read and none is still being checked (each
 * `verify` and `retry` ends here; the last one to finish runs it).
 * @param {Ctx} ctx
 * @param {State} st
 */
async function checkChainIfComplete(ctx, st) {
  if (states.get(ctx) !== st || st.loading || st.next || st.events.length === 0) return;
  const ids = [...new Set(st.events.map((ev) => String(ev.id)))];
  const results = ids.map((id) => st.results.get(id));
  if (results.some((r) => r === undefined || r.state === 'checking')) return;
  const run = ++st.chainRun;
  /** @type {ChainState} */
  let chain;
  const log = st.log;
  if (!st.checker || !log?.ok) chain = { state: 'unavailable' };
  else {
    st.chain = undefined;
    renderChain(ctx, st);
    try {
      chain = await checkPersonChain(st.checker.V, /** @type {ProofResult[]} */ (results), log.head.size);
    } catch {
      chain = { state: 'broken', problem: 'shape', seq: 0, after: 0, pending: 0, failed: 0 };
    }
  }
  if (states.get(ctx) !== st || st.chainRun !== run) return;
  st.chain = chain;
  renderChain(ctx, st);
}

/**
 * Checks one event again (after a pending or failed check).
 * @param {Ctx} ctx
 * @param {State} st
 * @param {any} ev
 */
async function retry(ctx, st, ev) {
  if (!st.checker) return;
  if (st.log && !st.log.ok && st.log.reason === 'head') st.checker.reset();
  st.results.set(String(ev.id), { state: 'checking' });
  updateProof(ctx, st, ev, true);
  st.log = await st.checker.log();
  renderLog(ctx, st);
  st.results.set(String(ev.id), await st.checker.verifyEvent(ev));
  updateProof(ctx, st, ev, true);
  await checkChainIfComplete(ctx, st);
}

/**
 * What an AuditEvent says, for the person.
 * @param {Ctx} ctx
 * @param {any} ev
 */
export function describe(ctx, ev) {
  const agents = Array.isArray(ev.agent) ? ev.agent : [];
  const systems = ctx.config.systems;
  const codes = (/** @type {any} */ a) => (a?.type?.coding ?? []).map((/** @type {any} */ c) => c?.code);
  const client = agents.find((/** @type {any} */ a) => a?.who?.identifier?.system === systems.clientId);
  const requestor =
    agents.find(
      (/** @type {any} */ a) => a?.requestor === true && orgIdentifier(a?.who?.identifier) && a.who.identifier.system !== systems.clientId,
    ) ?? agents.find((/** @type {any} */ a) => codes(a).includes('IRCP'));
  const provider = agents.find((/** @type {any} */ a) => codes(a).includes('INF'));
  const purpose = purposeOfEvent(ev);
  const purposes = [
    purpose,
    ...agents.flatMap((/** @type {any} */ a) =>
      (a?.purposeOfUse ?? []).flatMap((/** @type {any} */ c) => (c?.coding ?? []).map((/** @type {any} */ x) => x?.code)),
    ),
  ];
  const self = client?.who?.identifier?.value === ctx.config.clientId || (purpose === SELF_PURPOSE && !requestor);
  const who = self
    ? t('access.self')
    : requestor
      ? orgLabel(ctx, orgIdentifier(requestor.who?.identifier), { display: requestor.who?.display })
      : (client?.who?.display ?? t('access.unknownOrg'));
  const sub = (Array.isArray(ev.subtype) ? ev.subtype : []).find((/** @type {any} */ c) => c?.code);
  const subCode = sub?.code === 'operation' ? sub.display : sub?.code;
  const types = [
    ...new Set(
      (ev.entity ?? [])
        .map((/** @type {any} */ e) => e?.what?.reference)
        .filter((/** @type {unknown} */ r) => typeof r === 'string')
        .map((/** @type {string} */ r) => r.split('/')[0]),
    ),
  ];
  const shownTypes = types.length > 1 ? types.filter((x) => x !== 'Patient') : types;
  const action = actionLabel(subCode) ?? auditActionLabel(ev.action) ?? subCode;
  const what = shownTypes.length > 0 ? `${action ?? ''} — ${shownTypes.map((x) => typeLabel(x)).join('、')}` : action;
  const outcome = outcomeLabel(ev.outcome);
  return {
    self,
    who,
    app: !self && client?.who?.display && client.who.display !== who ? client.who.display : undefined,
    purpose: purposeLabel(purpose),
    btg: purposes.includes('BTG'),
    what,
    outcome: outcome && typeof ev.outcomeDesc === 'string' && ev.outcome !== '0' ? `${outcome}: ${ev.outcomeDesc}` : outcome,
    refused: ev.outcome !== undefined && ev.outcome !== '0',
    provider: provider ? orgLabel(ctx, orgIdentifier(provider.who?.identifier), { display: provider.who?.display }) : undefined,
  };
}

/** @param {Ctx} ctx */
export function render(ctx) {
  const st = states.get(ctx);
  if (!st) return;
  renderLog(ctx, st);
  renderList(ctx);
}

/** @param {State} st */
function statusText(st) {
  if (st.loading) return t('loading');
  if (st.error) return t('error.load', { reason: st.error });
  if (st.events.length === 0) return t('none');
  return t(st.next ? 'loaded.more' : 'loaded.count', { n: st.events.length });
}

/** @param {State} st */
function summaryText(st) {
  let ok = 0;
  let fail = 0;
  let pending = 0;
  for (const r of st.results.values()) {
    if (r.state === 'ok') ok++;
    else if (r.state === 'fail') fail++;
    else if (r.state === 'pending' || r.state === 'checking') pending++;
  }
  return t('log.summary', { ok, fail, pending });
}

/**
 * @param {Ctx} _ctx
 * @param {State} st
 */
function renderStatus(_ctx, st) {
  byId('access-status').textContent = statusText(st);
}

/**
 * @param {Ctx} _ctx
 * @param {State} st
 */
function renderLog(_ctx, st) {
  const box = byId('log-status');
  const log = st.log;
  /** @type {HTMLElement[]} */
  const lines = [];
  if (st.verifierError) {
    lines.push(h('p', { class: 'verify-fail' }, t('log.fail', { reason: st.verifierError })));
  } else if (!log) {
    if (st.events.length > 0) lines.push(h('p', {}, t('log.checking')));
  } else if (log.ok) {
    lines.push(h('p', { class: 'verify-ok' }, t('log.ok', { size: log.head.size, time: formatTime(log.head.time) ?? '' })));
    if (log.consistency === 'first') lines.push(h('p', {}, t('log.first')));
    else lines.push(h('p', { class: 'verify-ok' }, t('log.consistent', { old: log.previousSize ?? 0 })));
    for (const w of log.warnings) lines.push(h('p', { class: 'verify-warn' }, t(w, { old: log.previousSize ?? 0 })));
  } else if (log.reason === 'inconsistent') {
    lines.push(h('p', { class: 'verify-fail' }, t('log.inconsistent', { old: log.previousSize ?? 0 })));
  } else {
    lines.push(h('p', { class: 'verify-fail' }, t('log.fail', { reason: `${t(`proof.reason.${log.reason}`)} (${log.detail})` })));
  }
  if (st.results.size > 0 && !st.loading) lines.push(h('p', {}, summaryText(st)));
  fill(box, lines);
}

/** @param {Ctx} ctx */
function renderList(ctx) {
  const st = stateOf(ctx);
  const list = byId('access-list');
  const shown = st.events.filter((ev) => !(st.hideSelf && describe(ctx, ev).self));
  fill(
    list,
    shown.map((ev) => entryView(ctx, st, ev)),
  );
  list.hidden = shown.length === 0;
  const more = byId('access-more');
  more.hidden = !st.next;
  /** @type {HTMLButtonElement} */ (more).disabled = st.loading;
  renderStatus(ctx, st);
  renderChain(ctx, st);
}

/**
 * What the chain's status says, and its class (colour; the words say it too).
 * @param {State} st
 * @returns {[string, string]}
 */
function chainText(st) {
  if (st.loadingAll) return [t('chain.checking'), ''];
  if (st.events.length === 0) return ['', ''];
  if (st.next) return [t('chain.incomplete'), ''];
  const c = st.chain;
  if (!c) return [st.loading ? '' : t('chain.checking'), ''];
  if (c.state === 'unavailable') return [t('chain.unavailable'), 'verify-fail'];
  const notes = [
    c.pending > 0 && c.state !== 'waiting' ? t('chain.pending', { n: c.pending }) : '',
    c.failed > 0 ? t('chain.failed', { n: c.failed }) : '',
  ].filter((x) => x !== '');
  const withNotes = (/** @type {string} */ text) => [text, ...notes].join(' ');
  switch (c.state) {
    case 'ok':
      return [withNotes(t('chain.ok', { last: c.last })), 'verify-ok'];
    case 'waiting':
      return [
        withNotes(c.checked > 0 ? t('chain.waiting', { checked: c.checked, n: c.pending }) : t('chain.waitingNone', { n: c.pending })),
        'verify-warn',
      ];
    case 'empty':
      return [withNotes(t('chain.empty')), ''];
    default: {
      if (c.problem === 'gap') {
        const from = c.after + 1;
        const to = c.seq - 1;
        const missing = from === to ? t('chain.missingOne', { n: from }) : t('chain.missingRange', { from, to });
        return [withNotes(c.after === 0 ? t('chain.gapFirst', { missing }) : t('chain.gap', { after: c.after, missing })), 'verify-fail'];
      }
      if (c.problem === 'prev')
        return [withNotes(c.seq <= 1 ? t('chain.prevFirst') : t('chain.prev', { seq: c.seq, prev: c.seq - 1 })), 'verify-fail'];
      return [withNotes(t(`chain.${c.problem}`, { seq: c.seq })), 'verify-fail'];
    }
  }
}

/**
 * The chain's status and the "load all" button (there while a next link is left).
 * @param {Ctx} _ctx
 * @param {State} st
 */
function renderChain(_ctx, st) {
  const box = byId('chain-status');
  const [text, cls] = chainText(st);
  // Written only when it changes: the live region announces every write.
  if (box.textContent !== text) box.textContent = text;
  box.className = `chain-status${cls ? ` ${cls}` : ''}`;
  const all = /** @type {HTMLButtonElement} */ (byId('access-all'));
  all.hidden = !st.next || st.events.length === 0;
  all.disabled = st.loading;
}

/**
 * @param {Ctx} ctx
 * @param {State} st
 * @param {any} ev
 */
function entryView(ctx, st, ev) {
  const d = describe(ctx, ev);
  const id = domId(ev.id);
  const time = formatTime(ev.recorded) ?? t('unknown');
  return h(
    'li',
    {
      class: `entry${d.btg ? ' entry-btg' : ''}${d.refused ? ' entry-refused' : ''}`,
      'data-event-id': String(ev.id),
      'data-btg': d.btg ? 'true' : undefined,
    },
    h(
      'article',
      { 'aria-labelledby': `${id}-h` },
      h(
        'h3',
        { id: `${id}-h`, class: 'entry-title', tabindex: -1 },
        h('time', { datetime: ev.recorded ?? '' }, time),
        ' ',
        h('span', { class: 'entry-who' }, d.who),
      ),
      d.btg ? h('p', { class: 'badge badge-btg' }, h('strong', {}, t('access.btg')), ' ', h('span', {}, t('access.btgNote'))) : null,
      dl([
        [t('access.app'), d.app],
        [t('access.purpose'), d.purpose],
        [t('access.action'), d.what],
        [t('access.outcome'), d.outcome],
        [t('access.provider'), d.provider],
      ]),
      proofView(ctx, st, ev, time),
    ),
  );
}

/**
 * @param {ProofResult} r
 */
function reasonText(r) {
  const base = t(`proof.reason.${r.reason ?? 'entry'}`, { field: r.field ?? '' });
  return r.detail ? (r.reason === 'server' ? `${base}: ${r.detail}` : `${base} (${r.detail})`) : base;
}

/**
 * @param {Ctx} ctx
 * @param {State} st
 * @param {any} ev
 * @param {string} time
 */
function proofView(ctx, st, ev, time) {
  const r = st.results.get(String(ev.id)) ?? { state: 'checking' };
  /** @type {string} */
  let text;
  switch (r.state) {
    case 'ok':
      text = t('proof.ok');
      break;
    case 'fail':
      text = `${t('proof.fail')}: ${reasonText(r)}`;
      break;
    case 'pending':
      text = `${t('proof.pending')}: ${reasonText(r)}`;
      break;
    case 'unavailable':
      text = r.detail ? `${t('proof.unavailable')}: ${r.detail}` : t('proof.unavailable');
      break;
    default:
      text = t('proof.checking');
  }
  const canRetry = r.state === 'pending' || (r.state === 'fail' && (r.reason === 'server' || r.reason === 'head'));
  const details =
    'index' in r && r.index !== undefined
      ? h(
          'details',
          { class: 'proof-details' },
          h('summary', {}, t('proof.details')),
          dl([
            [t('proof.index'), String(r.index)],
            [t('proof.size'), r.size === undefined ? undefined : String(r.size)],
            [t('proof.signedAt'), formatTime(r.signedAt)],
            [t('proof.key'), r.keyName],
            [t('proof.seq'), 'entry' in r && typeof r.entry?.seq === 'number' ? String(r.entry.seq) : undefined],
          ]),
        )
      : null;
  return h(
    'div',
    { class: 'proof', 'data-state': r.state },
    h('p', { class: 'proof-status', tabindex: -1 }, text),
    canRetry
      ? h(
          'button',
          {
            type: 'button',
            class: 'button-secondary button-small',
            'aria-label': t('proof.retryLabel', { time }),
            onclick: () => void retry(ctx, st, ev),
          },
          t('proof.retry'),
        )
      : null,
    details,
  );
}

/**
 * Replaces one entry's proof block (the rest of the list, and the focus, stay).
 * @param {Ctx} ctx
 * @param {State} st
 * @param {any} ev
 * @param {boolean} [focus] move focus to the new status (the retry button is gone)
 */
function updateProof(ctx, st, ev, focus = false) {
  const li = byId('access-list').querySelector(`li[data-event-id="${CSS.escape(String(ev.id))}"]`);
  const old = li?.querySelector('.proof');
  if (!li || !old) return;
  const hadFocus = focus || old.contains(document.activeElement);
  const next = proofView(ctx, st, ev, formatTime(ev.recorded) ?? t('unknown'));
  old.replaceWith(next);
  if (hadFocus) /** @type {HTMLElement | null} */ (next.querySelector('button') ?? next.querySelector('.proof-status'))?.focus();
}
