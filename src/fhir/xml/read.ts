/**
 * FHIR R4 XML (xml.html) to FHIR JSON text. Parsing is saxes' (a strict XML 1.0 + Namespaces
 * parser: every well-formedness error is an error, and it never resolves an entity it was not
 * given). A DOCTYPE is refused outright, so no DTD, internal or external entity (XXE, "billion
 * laughs") can reach it. Nesting is bounded. A decimal's `value="20.00"` becomes the JSON number
 * text `20.00` (core/json.ts then keeps it). The narrative `div` is copied as written whenever
 * it can be; only a div written with namespace prefixes is serialized anew.
 */
import { SaxesParser } from 'saxes';
import type { SaxesAttributeNS, SaxesTagNS } from 'saxes';
import { rawNumber } from '../../core/json.ts';
import { errors, OperationOutcomeError, outcome, issue } from '../../core/outcome.ts';
import { escapeAttribute, escapeText } from './escape.ts';
import { FHIR_NS, isPrimitiveCode, isResourceType, modelOf, shown, XHTML_NS } from './model.ts';
import type { Slot, TypeModel } from './model.ts';

const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

/** Deeper than any FHIR resource nests in XML (narrative tables included). */
export const MAX_XML_DEPTH = 160;

function invalidXml(text: string): OperationOutcomeError {
  return new OperationOutcomeError(outcome(undefined, [issue({ code: 'structure', medid: 'invalid-xml', text })]));
}

interface XmlElement {
  local: string;
  uri: string;
  attributes: Record<string, SaxesAttributeNS>;
  children: XmlElement[];
  /** Non-whitespace text directly inside (an error for FHIR elements). */
  hasText: boolean;
  /** For an XHTML div: its markup as JSON carries it. */
  xhtml?: string;
}

/** Collects one XHTML div: its source span, or a serialization when the source is not self-contained. */
class XhtmlCapture {
  start: number;
  depth = 0;
  /** The source can be copied: unprefixed XHTML throughout and the div declares its namespace. */
  copyable: boolean;
  out: string[] = [];
  constructor(start: number, tag: SaxesTagNS) {
    this.start = start;
    this.copyable = selfContained(tag) && tag.attributes['xmlns']?.value === XHTML_NS;
  }
}

/** An XHTML tag whose source reads the same outside its document: no prefixes (but `xml:` and declarations). */
function selfContained(tag: SaxesTagNS): boolean {
  return tag.prefix === '' && Object.values(tag.attributes).every((a) => a.prefix === '' || a.prefix === 'xml' || a.prefix === 'xmlns');
}

function xhtmlOpenTag(tag: SaxesTagNS, root: boolean): string {
  let s = `<${tag.local}${root ? ` xmlns="${XHTML_NS}"` : ''}`;
  for (const a of Object.values(tag.attributes)) {
    if (a.uri === XMLNS_NS) continue;
    const name = a.uri === XML_NS ? `xml:${a.local}` : a.local;
    s += ` ${name}="${escapeAttribute(a.value)}"`;
  }
  return s + (tag.isSelfClosing ? '/>' : '>');
}

/** XML text, parsed strictly into a small element tree (FHIR and XHTML namespaces only). */
function parseXmlTree(text: string): XmlElement {
  const xml = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const parser = new SaxesParser({ xmlns: true, position: true, defaultXMLVersion: '1.0', forceXMLVersion: true });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let capture: XhtmlCapture | undefined;
  let refusal: OperationOutcomeError | undefined;
  const refuse = (e: OperationOutcomeError): void => {
    refusal ??= e;
    throw e;
  };

  parser.on('xmldecl', (d) => {
    if (d.encoding !== undefined && !/^utf-?8$/i.test(d.encoding)) {
      refuse(invalidXml('The XML body declares an encoding other than UTF-8; send UTF-8'));
    }
  });
  parser.on('doctype', () => {
    refuse(invalidXml('The XML body has a DOCTYPE: DTDs and entity declarations are refused (XXE protection; FHIR XML never needs one)'));
  });
  parser.on('opentag', (tag) => {
    const depth = stack.length + (capture ? capture.depth : 0) + 1;
    if (depth > MAX_XML_DEPTH) refuse(invalidXml(`The XML body nests deeper than ${MAX_XML_DEPTH} elements`));
    if (capture) {
      if (tag.uri !== XHTML_NS) refuse(errors.badRequest('The narrative div may hold XHTML elements only (txt-1)', 'invalid-resource'));
      if (!selfContained(tag)) capture.copyable = false;
      capture.out.push(xhtmlOpenTag(tag, false));
      capture.depth++; // saxes reports a close for a self-closing tag too
      return;
    }
    const el: XmlElement = { local: tag.local, uri: tag.uri, attributes: tag.attributes, children: [], hasText: false };
    if (tag.uri === XHTML_NS) {
      // The source from this div's '<' (saxes' position is one character past its name).
      capture = new XhtmlCapture(xml.lastIndexOf('<', parser.position - 1), tag);
      capture.out.push(xhtmlOpenTag(tag, true));
    }
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(el);
    else root = el;
    stack.push(el);
  });
  parser.on('closetag', (tag) => {
    if (capture && capture.depth > 0) {
      if (!tag.isSelfClosing) capture.out.push(`</${tag.local}>`);
      capture.depth--;
      return;
    }
    const el = stack.pop() as XmlElement;
    if (capture) {
      if (!tag.isSelfClosing) capture.out.push('</div>');
      el.xhtml = finishCapture(capture, xml.slice(capture.start, parser.position));
      capture = undefined;
    }
  });
  const onText = (t: string): void => {
    if (capture) capture.out.push(escapeText(t));
    else if (stack.length > 0 && /\S/.test(t)) stack[stack.length - 1].hasText = true;
  };
  parser.on('text', onText);
  parser.on('cdata', onText);

  try {
    parser.write(xml).close();
  } catch (e) {
    if (refusal) throw refusal;
    if (e instanceof OperationOutcomeError) throw e;
    throw invalidXml(`The request body is not well-formed XML (XML 1.0): ${describeSaxesError(e)}`);
  }
  if (!root) throw invalidXml('The request body is not well-formed XML (XML 1.0): document must contain a root element');
  return root;
}

/** saxes' message without the names or text it quotes: the rule and where (`1:61: unclosed tag: Patient` → `unclosed tag at line 1, column 61`). */
function describeSaxesError(e: unknown): string {
  const m = /^(?:[^:]*:)?(\d+):(\d+): ([^:.]*)/.exec((e as Error).message ?? '');
  if (!m) return 'malformed document';
  return `${(m[3] ?? '').trim()} at line ${m[1]}, column ${m[2]}`;
}

function finishCapture(c: XhtmlCapture, source: string): string {
  // XML 1.0 §2.11: a parser reads CR LF and lone CR as LF.
  if (c.copyable && /^<div[\s/>]/.test(source)) return source.replace(/\r\n?/g, '\n');
  return c.out.join('');
}

/** A JSON value being built from XML: a decimal is its literal (core/json.ts `rawNumber`). */
type JsonOut = string | number | boolean | null | JsonOut[] | { [k: string]: JsonOut };

const INTEGER = /^-?(0|[1-9][0-9]*)$/;
const DECIMAL = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;

function primitiveFromXml(code: string, value: string, path: string): JsonOut {
  switch (code) {
    case 'boolean':
      if (value !== 'true' && value !== 'false') throw badValue(path, 'a boolean is true or false');
      return value === 'true';
    case 'integer':
    case 'positiveInt':
    case 'unsignedInt': {
      const n = Number(value);
      if (!INTEGER.test(value) || n > 2147483647 || n < -2147483648) throw badValue(path, `an ${code} is a 32-bit whole number`);
      return n;
    }
    case 'decimal':
      if (!DECIMAL.test(value)) throw badValue(path, 'a decimal is written like 20.00 or -1.5e3 (datatypes.html#decimal)');
      return rawNumber(value) as JsonOut;
    default:
      return value;
  }
}

function badValue(path: string, rule: string): OperationOutcomeError {
  return errors.badRequest(`${path}: the value attribute is not valid: ${rule}`, 'invalid-resource', path, 'value');
}

function notAllowed(path: string, what: string): OperationOutcomeError {
  return errors.badRequest(`${path}: ${what}`, 'invalid-resource', path, 'structure');
}

/** Checks the attributes of a FHIR element: xmlns declarations and xsi:* are ignored; the rest must be allowed here. */
function attributesOf(el: XmlElement, allowed: readonly string[], path: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of Object.values(el.attributes)) {
    if (a.uri === XMLNS_NS || a.uri === XSI_NS) continue;
    if (a.uri !== '' || !allowed.includes(a.local)) throw notAllowed(path, `the attribute ${shown(a.name)} is not allowed here`);
    out.set(a.local, a.value);
  }
  return out;
}

function resourceFromXml(el: XmlElement, path: string): { [k: string]: JsonOut } {
  if (el.uri !== FHIR_NS) {
    throw notAllowed(path || shown(el.local), `the element is not in the FHIR namespace ${FHIR_NS}`);
  }
  if (!isResourceType(el.local)) throw errors.badRequest(`${shown(el.local)} is not an R4 resource type`, 'unknown-resource-type');
  attributesOf(el, [], el.local);
  return complexFromXml(el, modelOf(el.local), el.local, true);
}

function complexFromXml(el: XmlElement, model: TypeModel, path: string, isResource: boolean): { [k: string]: JsonOut } {
  if (el.hasText) throw notAllowed(path, 'text is not allowed directly inside a FHIR element (use the value attribute)');
  const out: { [k: string]: JsonOut } = {};
  if (isResource) out['resourceType'] = el.local;
  else {
    const attrs = attributesOf(el, model.name === 'Extension' ? ['id', 'url'] : ['id'], path);
    const id = attrs.get('id');
    if (id !== undefined) out['id'] = id;
    const url = attrs.get('url');
    if (url !== undefined) out['url'] = url;
  }
  const values = new Map<Slot, JsonOut[]>();
  const extras = new Map<Slot, JsonOut[]>();
  for (const child of el.children) {
    const childPath = `${path}.${shown(child.local)}`;
    const slot = child.uri === FHIR_NS || (child.uri === XHTML_NS && child.local === 'div') ? model.byName.get(child.local) : undefined;
    if (!slot || (!isResource && slot.name === 'id') || (model.name === 'Extension' && slot.name === 'url')) {
      throw notAllowed(childPath, `${shown(child.local)} is not an element of ${model.name}`);
    }
    if ((slot.code === 'xhtml') !== (child.uri === XHTML_NS)) throw notAllowed(childPath, 'the narrative div must be an XHTML div');
    const list = values.get(slot) ?? [];
    if (!slot.isArray && list.length > 0) throw notAllowed(childPath, 'the element repeats but may appear once');
    values.set(slot, list);
    if (slot.code === 'xhtml') {
      list.push(child.xhtml ?? '');
    } else if (slot.code === 'Resource') {
      const inner = child.children;
      if (child.hasText || inner.length !== 1) throw notAllowed(childPath, 'must hold exactly one resource');
      attributesOf(child, [], childPath);
      list.push(resourceFromXml(inner[0], childPath));
    } else if (isPrimitiveCode(slot.code)) {
      const attrs = attributesOf(child, ['value', 'id'], childPath);
      if (child.hasText) throw notAllowed(childPath, 'text is not allowed directly inside a FHIR element (use the value attribute)');
      const raw = attrs.get('value');
      list.push(raw === undefined ? null : primitiveFromXml(slot.code, raw, childPath));
      const extra: { [k: string]: JsonOut } = {};
      const id = attrs.get('id');
      if (id !== undefined) extra['id'] = id;
      const exts = child.children.map((c, i) => {
        if (c.uri !== FHIR_NS || c.local !== 'extension')
          throw notAllowed(`${childPath}.${shown(c.local)}`, 'a primitive holds extensions only');
        return complexFromXml(c, modelOf('Extension'), `${childPath}.extension[${i}]`, false);
      });
      if (exts.length > 0) extra['extension'] = exts;
      if (raw === undefined && Object.keys(extra).length === 0) throw notAllowed(childPath, 'has neither a value nor extensions (ele-1)');
      const ex = extras.get(slot) ?? [];
      ex.push(Object.keys(extra).length > 0 ? extra : null);
      extras.set(slot, ex);
    } else {
      list.push(complexFromXml(child, modelOf(slot.code), childPath, false));
    }
  }
  // Definition order, whatever order the document used.
  for (const slot of model.slots) {
    const list = values.get(slot);
    if (!list) continue;
    const ex = extras.get(slot);
    const hasExtras = ex?.some((x) => x !== null) ?? false;
    if (list.some((v) => v !== null)) out[slot.name] = slot.isArray ? list : list[0];
    if (hasExtras) out[`_${slot.name}`] = slot.isArray ? (ex as JsonOut[]) : (ex as JsonOut[])[0];
  }
  return out;
}

/**
 * A FHIR XML document as FHIR JSON text: the text the JSON parser (core/json.ts `parseFhirJson`)
 * reads, so decimals keep their precision and every JSON rule applies to XML bodies too. Throws
 * a 400 OperationOutcomeError: `invalid-xml` when the body is not well-formed XML, has a DOCTYPE,
 * another encoding or nests too deep; `invalid-resource` (naming the element) when it is not a
 * FHIR resource in R4's XML form. No message quotes the document's text.
 */
export function fhirXmlToJsonText(xml: string): string {
  const resource = resourceFromXml(parseXmlTree(xml), '');
  return JSON.stringify(resource);
}
