/**
 * The "Examples" section of an operation's page: each recorded exchange (ig/exchanges/, see
 * ig-exchanges.ts) as the HTTP request and response it was — request line, headers, body.
 */
import fs from 'node:fs';
import path from 'node:path';
import { STATUS_CODES } from 'node:http';
import type { Exchange, OperationExamples } from './ig-exchanges.ts';
import { esc } from './ig-html.ts';

export function readExchanges(igDir: string): Map<string, OperationExamples> {
  const dir = path.join(igDir, 'exchanges');
  const out = new Map<string, OperationExamples>();
  if (!fs.existsSync(dir)) return out;
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.json'))) {
    const x = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as OperationExamples;
    out.set(x.operation, x);
  }
  return out;
}

function bodyText(body: unknown): string {
  if (body === undefined) return '';
  return `\n\n${typeof body === 'string' ? body.trimEnd() : JSON.stringify(body, null, 2)}`;
}

function requestText(x: Exchange): string {
  const u = new URL(x.request.url);
  // Query strings show `:`, `/`, `|` and `,` as people write them (unambiguous in a query).
  const search = u.search.replace(/%(3A|2F|7C|2C)/gi, (m) => decodeURIComponent(m));
  const target = `${u.pathname}${search}`;
  const headers = Object.entries({ Host: u.host, ...x.request.headers }).map(([k, v]) => `${k}: ${v}`);
  return `${x.request.method} ${target} HTTP/1.1\n${headers.join('\n')}${bodyText(x.request.body)}`;
}

function responseText(x: Exchange): string {
  const headers = Object.entries(x.response.headers).map(([k, v]) => `${k}: ${v}`);
  return `HTTP/1.1 ${x.response.status} ${STATUS_CODES[x.response.status] ?? ''}\n${headers.join('\n')}${bodyText(x.response.body)}`;
}

export function exchangesSection(examples: OperationExamples | undefined): string {
  if (!examples || examples.exchanges.length === 0) return '';
  const items = examples.exchanges.map((x) => {
    const c = x.caller;
    return `<section class="exchange"><h3>${esc(x.title)}</h3>
<p class="caller">Caller: ${esc(c.label)} — client <code>${esc(c.clientId)}</code>, organization <code>${esc(c.organization.kind)}:${esc(c.organization.code)}</code>, scope <code>${esc(c.scope)}</code>, purpose of use <code>${esc(c.purposeOfUse)}</code>. <code>$TOKEN</code> stands for its access token.</p>
<h4>Request</h4><pre>${esc(requestText(x))}</pre>
<h4>Response</h4><pre>${esc(responseText(x))}</pre></section>`;
  });
  return `<h2 id="examples">Examples</h2><p>Recorded from medid itself (<code>npm run ig:exchanges</code>: the server on an in-memory database, a fixed clock of 2026-04-10 12:00 JST, synthetic persons and test numbers); a test records them again and fails when they differ from what is shown here.</p>${items.join('\n')}`;
}
