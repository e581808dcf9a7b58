/**
 * The IG's page frame: navigation, the stylesheet (with a Japanese-capable font stack) and
 * language marking. Pages are English (`lang="en"`) unless their Markdown starts with
 * `<!-- lang: ja -->`; Japanese words inside English pages are wrapped in `<span lang="ja">`,
 * so browsers pick Japanese glyph forms and fonts for them (Han characters are shared with
 * Chinese, and only the language tells them apart).
 */

export type Lang = 'en' | 'ja';

export const esc = (s: string | number | boolean | undefined | null): string =>
  String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);

export function table(head: string[], rows: string[][]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

export const NAV: readonly (readonly [string, string])[] = [
  ['index.html', 'Home'],
  ['actors.html', 'Actors'],
  ['identifiers.html', 'Identifiers'],
  ['profiles.html', 'Profiles'],
  ['operations.html', 'Operations'],
  ['search-parameters.html', 'Search'],
  ['security.html', 'Security'],
  ['access-policy.html', 'Access policy'],
  ['terminology.html', 'Terminology'],
  ['examples.html', 'Examples'],
  ['package.tgz', 'Package'],
  ['ja.html', '日本語'],
];

const JA_FONTS = `"Hiragino Sans","Hiragino Kaku Gothic ProN","Noto Sans JP","Noto Sans CJK JP","Yu Gothic",YuGothic,Meiryo,"IPAexGothic","IPAGothic",sans-serif`;
const MONO = `ui-monospace,SFMono-Regular,Menlo,Consolas,"Noto Sans Mono CJK JP","Osaka-Mono","MS Gothic","IPAGothic",monospace`;

export const CSS = `body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,${JA_FONTS};margin:0;color:#1d2329;line-height:1.6}
:lang(ja){font-family:${JA_FONTS}}
html:lang(ja) body{line-height:1.8}
header{background:#0b3d5c;color:#fff;padding:.6rem 1rem;display:flex;gap:1.5rem;flex-wrap:wrap;align-items:baseline}
header a{color:#cfe8ff;margin-right:.8rem;text-decoration:none}main{max-width:72rem;margin:0 auto;padding:1rem 1.5rem}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}th,td{border:1px solid #c9d1d9;padding:.3rem .5rem;vertical-align:top;text-align:left}
th{background:#eef3f7}code,pre,code :lang(ja),pre :lang(ja){font-family:${MONO};font-size:.85rem}pre{background:#f6f8fa;padding:.8rem;overflow:auto}
.exchange{border-left:4px solid #0b3d5c;padding-left:1rem;margin:1.5rem 0}.exchange h4{margin:.8rem 0 .3rem}
.caller{color:#57606a;font-size:.9rem}.status{font-weight:bold}
footer{color:#57606a;font-size:.8rem;padding:1rem 1.5rem}.ms{color:#b31d28;font-weight:bold}`;

const JA_CHAR = '\\u3000-\\u303f\\u3040-\\u309f\\u30a0-\\u30ff\\u31f0-\\u31ff\\u3400-\\u4dbf\\u4e00-\\u9fff\\uf900-\\ufaff\\uff01-\\uff9f';
/** A run of Japanese text: Japanese characters, joined by spaces or by Latin letters and digits (医療等ID管理機関). */
const JA_RUN = new RegExp(`[${JA_CHAR}]+(?:(?:[ \\u3000]+|[A-Za-z0-9]+)[${JA_CHAR}]+)*`, 'g');

/** Wraps Japanese runs in `<span lang="ja">`, outside tags and outside <title>. */
export function markJapanese(html: string): string {
  let inTitle = false;
  return html
    .split(/(<[^>]*>)/)
    .map((part) => {
      if (part.startsWith('<')) {
        if (/^<title[\s>]/i.test(part)) inTitle = true;
        if (/^<\/title>/i.test(part)) inTitle = false;
        return part;
      }
      return inTitle ? part : part.replace(JA_RUN, (m) => `<span lang="ja">${m}</span>`);
    })
    .join('');
}

/** A whole page; `depth` is how many folders below the site root it lives. */
export function page(title: string, body: string, o: { depth?: number; lang?: Lang; version: string }): string {
  const up = '../'.repeat(o.depth ?? 0);
  const lang = o.lang ?? 'en';
  const nav = NAV.map(
    ([href, label]) => `<a href="${up}${href}"${/^[a-z]/i.test(label) ? '' : ' lang="ja" hreflang="ja"'}>${label}</a>`,
  ).join(' ');
  // On a Japanese page the frame (navigation, footer) stays English, and says so.
  const en = lang === 'en' ? '' : ' lang="en"';
  const html = `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} — medid IG</title><link rel="stylesheet" href="${up}style.css"></head>
<body><header${en}><strong>medid Implementation Guide</strong><nav>${nav}</nav></header><main>${body}</main>
<footer${en}>medid ${esc(o.version)} · FHIR R4 4.0.1 · generated ${new Date().toISOString().slice(0, 10)}</footer></body></html>\n`;
  return lang === 'en' ? markJapanese(html) : html;
}

/** The language a Markdown page declares (`<!-- lang: ja -->`), English by default. */
export function langOf(markdown: string): Lang {
  return /^\s*<!--\s*lang:\s*ja\s*-->/.test(markdown) ? 'ja' : 'en';
}
