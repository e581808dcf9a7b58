/**
 * Narrative XHTML (R4 narrative.html; invariants txt-1 and txt-2). A narrative is shown to people
 * by every client, so this is a security check as much as a conformance one: a `<script>`, an
 * `onclick`, a `javascript:` link or an entity no XML parser knows is refused on write.
 *
 * The checker is a strict tokenizer for the small XHTML subset FHIR allows, not a browser-grade
 * HTML parser: anything it does not recognise is an error, so a permissive parse can never let
 * through what a browser would run.
 */

export interface NarrativeIssue {
  rule: 'txt-1' | 'txt-2' | 'xhtml';
  text: string;
}

const XHTML_NS = 'http://www.w3.org/1999/xhtml';

/** The HTML 4.0 formatting elements FHIR narrative allows (narrative.html), plus a and img. */
const ELEMENTS = new Set(
  (
    'a abbr acronym address b bdo big blockquote br caption cite code col colgroup dd del dfn div dl dt em h1 h2 h3 h4 h5 h6 hr i img ins ' +
    'kbd li map area ol p pre q s samp small span strike strong sub sup table tbody td tfoot th thead tr tt u ul var'
  ).split(' '),
);

/** Attributes allowed on those elements; event handlers (on*) are never among them. */
const ATTRIBUTES = new Set(
  (
    'xmlns xmlns:xhtml xml:lang lang dir id class style title accesskey tabindex href name hreflang rel rev target charset type ' +
    'src alt width height border align valign char charoff cellpadding cellspacing frame rules summary span colspan rowspan abbr ' +
    'axis headers scope nowrap bgcolor start value compact cite datetime shape coords usemap longdesc ismap'
  ).split(' '),
);

/** Schemes a link or image may not use: they run code or smuggle documents. */
const BAD_URL = /^\s*(javascript|vbscript|data(?!:image\/))\s*:/i;

const NAME = /^[A-Za-z_][\w.:-]*/;
const ENTITY = /^&(lt|gt|amp|quot|apos|#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6});/;

/** Issues with a narrative's div; [] when it is valid XHTML within FHIR's rules. */
export function checkNarrativeDiv(div: string): NarrativeIssue[] {
  const issues: NarrativeIssue[] = [];
  const stack: string[] = [];
  let hasContent = false;
  let sawRoot = false;
  let i = 0;
  const fail = (rule: NarrativeIssue['rule'], text: string): NarrativeIssue[] => [...issues, { rule, text }];

  while (i < div.length) {
    const c = div[i];
    if (c === '<') {
      if (div.startsWith('<!--', i)) {
        const end = div.indexOf('-->', i + 4);
        if (end < 0) return fail('xhtml', 'an XML comment is not closed');
        i = end + 3;
        continue;
      }
      if (div.startsWith('<![CDATA[', i)) {
        const end = div.indexOf(']]>', i);
        if (end < 0) return fail('xhtml', 'a CDATA section is not closed');
        if (div.slice(i + 9, end).trim()) hasContent = true;
        i = end + 3;
        continue;
      }
      if (div.startsWith('<!', i) || div.startsWith('<?', i)) {
        return fail('xhtml', 'a narrative may not carry a DOCTYPE, entity declaration or processing instruction');
      }
      if (div[i + 1] === '/') {
        const m = NAME.exec(div.slice(i + 2));
        const name = m?.[0];
        const close = div.indexOf('>', i);
        if (!name || close < 0 || div.slice(i + 2 + name.length, close).trim() !== '') return fail('xhtml', 'a closing tag is malformed');
        if (stack.pop() !== name) return fail('xhtml', `</${name}> does not close the element that is open (not well-formed XML)`);
        i = close + 1;
        if (stack.length === 0 && div.slice(i).trim() !== '') return fail('xhtml', 'content follows the closing </div>');
        continue;
      }
      const m = NAME.exec(div.slice(i + 1));
      if (!m) return fail('xhtml', 'a "<" does not start a tag (write &lt;)');
      const name = m[0];
      if (stack.length === 0) {
        if (sawRoot) return fail('xhtml', 'a narrative has one root element');
        if (name !== 'div') return fail('txt-1', 'the narrative root element must be an XHTML <div>');
        sawRoot = true;
      }
      if (!ELEMENTS.has(name)) issues.push({ rule: 'txt-1', text: `element <${name}> is not allowed in a narrative` });
      if (name === 'img') hasContent = true;
      let j = i + 1 + name.length;
      const seen = new Set<string>();
      let selfClosing = false;
      for (;;) {
        while (j < div.length && /\s/.test(div[j])) j++;
        if (div[j] === '>') break;
        if (div.startsWith('/>', j)) {
          selfClosing = true;
          j++;
          break;
        }
        const a = NAME.exec(div.slice(j));
        if (!a) return fail('xhtml', `a tag <${name}> is malformed`);
        const attr = a[0];
        j += attr.length;
        while (/\s/.test(div[j] ?? '')) j++;
        if (div[j] !== '=') return fail('xhtml', `attribute ${attr} has no quoted value`);
        j++;
        while (/\s/.test(div[j] ?? '')) j++;
        const q = div[j];
        if (q !== '"' && q !== "'") return fail('xhtml', `attribute ${attr} has no quoted value`);
        const end = div.indexOf(q, j + 1);
        if (end < 0) return fail('xhtml', `attribute ${attr} is not closed`);
        const value = div.slice(j + 1, end);
        j = end + 1;
        if (seen.has(attr)) return fail('xhtml', `attribute ${attr} is repeated`);
        seen.add(attr);
        if (value.includes('<')) return fail('xhtml', `attribute ${attr} contains "<"`);
        const bad = badEntity(value);
        if (bad) return fail('xhtml', bad);
        if (!ATTRIBUTES.has(attr)) issues.push({ rule: 'txt-1', text: `attribute ${attr} is not allowed in a narrative` });
        else if ((attr === 'href' || attr === 'src' || attr === 'longdesc' || attr === 'cite') && BAD_URL.test(decode(value))) {
          issues.push({ rule: 'txt-1', text: `attribute ${attr} may not use a javascript:, vbscript: or data: URL` });
        }
        if (attr === 'xmlns' && stack.length === 0 && value !== XHTML_NS)
          return fail('txt-1', `the <div> must be in the XHTML namespace ${XHTML_NS}`);
      }
      if (j >= div.length) return fail('xhtml', `a tag <${name}> is not closed`);
      if (stack.length === 0 && !seen.has('xmlns'))
        return fail('txt-1', `the <div> must declare the XHTML namespace (xmlns="${XHTML_NS}")`);
      i = j + 1;
      if (!selfClosing) stack.push(name);
      else if (stack.length === 0) {
        if (div.slice(i).trim() !== '') return fail('xhtml', 'content follows the root element');
      }
      continue;
    }
    if (stack.length === 0) {
      if (/\s/.test(c)) {
        i++;
        continue;
      }
      return fail('xhtml', 'text outside the root <div>');
    }
    const next = div.indexOf('<', i);
    const text = div.slice(i, next < 0 ? div.length : next);
    const bad = badEntity(text);
    if (bad) return fail('xhtml', bad);
    if (text.includes('>') && text.includes(']]>')) return fail('xhtml', '"]]>" may not appear in text');
    if (text.trim()) hasContent = true;
    i = next < 0 ? div.length : next;
  }
  if (!sawRoot) return fail('txt-1', 'the narrative must be an XHTML <div> element');
  if (stack.length > 0) return fail('xhtml', `<${stack[stack.length - 1] ?? ''}> is not closed (not well-formed XML)`);
  if (!hasContent) issues.push({ rule: 'txt-2', text: 'the narrative must have some non-whitespace content' });
  return issues;
}

/** An "&" that does not start an XML entity: HTML names such as &nbsp; are undeclared in XML. */
function badEntity(s: string): string | undefined {
  let k = s.indexOf('&');
  while (k >= 0) {
    if (!ENTITY.test(s.slice(k, k + 12)))
      return 'an "&" must start &lt; &gt; &amp; &quot; &apos; or a numeric character reference (undeclared entity)';
    k = s.indexOf('&', k + 1);
  }
  return undefined;
}

const codePoint = (n: number): string => (n >= 0 && n <= 0x10ffff ? String.fromCodePoint(n) : '');

/** Decodes numeric references so "jav&#x61;script:" is seen for what it is. */
function decode(s: string): string {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_m, h: string) => codePoint(Number.parseInt(h, 16)))
    .replace(/&#([0-9]+);/g, (_m, d: string) => codePoint(Number(d)))
    .replace(/&(lt|gt|amp|quot|apos);/g, (_m, n: string) => ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" })[n] as string)
    .split('')
    .filter((ch) => ch.charCodeAt(0) > 0x20)
    .join('');
}
