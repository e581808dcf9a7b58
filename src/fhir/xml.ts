/**
 * FHIR R4 XML (xml.html) to FHIR JSON (json.html) and back, driven by the R4 element
 * definitions: element order, which elements repeat, which are primitives (a `value` attribute),
 * choice types (`value[x]` → `valueQuantity`), contained resources and the XHTML narrative all come
 * from the StructureDefinitions that `definitions/index.ts` indexes into @medplum/core at start-up
 * (`loadDefinitions` must have run before either function here is called).
 *
 * Parsing is saxes' (a strict XML 1.0 + Namespaces parser: every well-formedness error is an
 * error, and it never resolves an entity it was not given). A DOCTYPE is refused outright, so no
 * DTD, internal or external entity (XXE, "billion laughs") can reach it. Nesting is bounded.
 *
 * Decimals keep their text both ways (R4 datatypes.html#decimal): XML → JSON writes
 * `value="20.00"` as the JSON number text `20.00` (the JSON parser of core/json.ts then keeps
 * it); JSON → XML reads each number's source text (`parseJsonKeepingNumberText`).
 *
 * The narrative `div` is kept as written whenever it can be: its source text is copied between
 * XML and JSON unchanged, and only a div written with namespace prefixes is serialized anew.
 */
import { tryGetDataType } from '@medplum/core';
import type { InternalTypeSchema } from '@medplum/core';
import { SaxesParser } from 'saxes';
import type { SaxesAttributeNS, SaxesTagNS } from 'saxes';
import { errors, OperationOutcomeError, outcome, issue } from '../core/outcome.ts';

export const FHIR_NS = 'http://hl7.org/fhir';
export const XHTML_NS = 'http://www.w3.org/1999/xhtml';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

/** Deeper than any FHIR resource nests in XML (narrative tables included). */
export const MAX_XML_DEPTH = 160;

function invalidXml(text: string): OperationOutcomeError {
  return new OperationOutcomeError(outcome(undefined, [issue({ code: 'structure', medid: 'invalid-xml', text })]));
}

/** An element name for a message: names are structure, not content, but are bounded all the same. */
function shown(name: string): string {
  return name.length > 64 ? `${name.slice(0, 64)}…` : name;
}

// ---------------------------------------------------------------------------------------------
// The type model: per type, its elements in definition order, with choice names resolved.
// ---------------------------------------------------------------------------------------------

interface Slot {
  /** The JSON property and XML element name (`valueQuantity` for `value[x]`). */
  name: string;
  /** The type code: a primitive (`string`, `decimal`…), a complex or backbone type, `Resource`, `xhtml`. */
  code: string;
  isArray: boolean;
}

interface TypeModel {
  name: string;
  /** Elements in definition order, choice types expanded to one slot per type. */
  slots: Slot[];
  byName: Map<string, Slot>;
}

const SYSTEM_STRING = 'http://hl7.org/fhirpath/System.String';
const models = new Map<string, TypeModel>();

function isPrimitiveCode(code: string): boolean {
  return code === SYSTEM_STRING || /^[a-z]/.test(code);
}

function modelOf(type: string): TypeModel {
  const cached = models.get(type);
  if (cached) return cached;
  const schema: InternalTypeSchema | undefined = tryGetDataType(type);
  if (!schema) {
    if (!tryGetDataType('Patient')) throw new Error('FHIR XML: the R4 definitions are not loaded (call loadDefinitions first)');
    throw new Error(`FHIR XML: no definition of type ${type}`);
  }
  const slots: Slot[] = [];
  for (const [key, el] of Object.entries(schema.elements)) {
    const isArray = Boolean(el.isArray) || el.max > 1;
    if (key.endsWith('[x]')) {
      const base = key.slice(0, -3);
      for (const t of el.type) slots.push({ name: base + t.code.charAt(0).toUpperCase() + t.code.slice(1), code: t.code, isArray });
    } else {
      slots.push({ name: key, code: el.type[0]?.code ?? 'string', isArray });
    }
  }
  const model = { name: type, slots, byName: new Map(slots.map((s) => [s.name, s])) };
  models.set(type, model);
  return model;
}

/** A resource type XML may name as a root or contained element (not the abstract bases). */
function isResourceType(name: string): boolean {
  if (name === 'Resource' || name === 'DomainResource') return false;
  return tryGetDataType(name)?.kind === 'resource';
}

// ---------------------------------------------------------------------------------------------
// XML → JSON
// ---------------------------------------------------------------------------------------------

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

const escapeText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Escapes an attribute value so that every XML parser reads back the same characters (XML 1.0 §3.3.3). */
function escapeAttribute(s: string): string {
  return s.replace(/[&<>"\t\n\r]/g, (c) => ATTRIBUTE_ESCAPES[c]);
}
const ATTRIBUTE_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '\t': '&#x9;',
  '\n': '&#xA;',
  '\r': '&#xD;',
};

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

/** A JSON value being built from XML: decimals are kept as their text. */
type JsonOut = string | number | boolean | null | DecimalText | JsonOut[] | { [k: string]: JsonOut };

/** A decimal's text, written into the JSON as a number literal. */
class DecimalText {
  text: string;
  constructor(text: string) {
    this.text = text;
  }
}

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
      return new DecimalText(value);
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

interface RawJsonApi {
  rawJSON(text: string): unknown;
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
  const raw = JSON as unknown as RawJsonApi;
  return JSON.stringify(resource, (_k, v: unknown) => (v instanceof DecimalText ? raw.rawJSON(v.text) : v));
}

// ---------------------------------------------------------------------------------------------
// JSON → XML
// ---------------------------------------------------------------------------------------------

/** A JSON number as its source text (`20.00` stays `20.00`). */
export class NumberText {
  text: string;
  constructor(text: string) {
    this.text = text;
  }
}

interface ReviverContext {
  source?: string;
}

/**
 * JSON.parse that turns every number into a `NumberText` holding its source text (ES2025 JSON.parse
 * source text access), for `resourceToFhirXml`. Only the XML writer reads the result.
 */
export function parseJsonKeepingNumberText(text: string): unknown {
  return JSON.parse(text, (_k, v: unknown, context?: ReviverContext) =>
    typeof v === 'number' ? new NumberText(context?.source ?? String(v)) : v,
  ) as unknown;
}

/** Characters XML 1.0 cannot carry at all, not even as character references (§2.2). */
const NOT_XML_CHAR =
  // eslint-disable-next-line no-control-regex -- these control characters are exactly what the rule names
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Thrown when a resource cannot be written as FHIR XML; the edge answers it like any error. */
function cannotWrite(path: string, why: string): OperationOutcomeError {
  return errors.notAcceptable(`${path} cannot be written as FHIR XML (${why}); ask for application/fhir+json`);
}

type JsonIn = { [k: string]: unknown };

class XmlWriter {
  private readonly parts: string[] = [];
  private readonly pretty: boolean;
  constructor(pretty: boolean) {
    this.pretty = pretty;
  }
  private line(depth: number, s: string): void {
    this.parts.push(this.pretty ? `${this.parts.length > 0 ? '\n' : ''}${'  '.repeat(depth)}${s}` : s);
  }
  toString(): string {
    return this.parts.join('') + (this.pretty ? '\n' : '');
  }

  resource(obj: JsonIn, depth: number, path: string, root: boolean): void {
    const type = obj['resourceType'];
    if (typeof type !== 'string' || !isResourceType(type)) throw cannotWrite(path || 'the body', 'not an R4 resource');
    const p = path ? path : type;
    this.line(depth, `<${type}${root ? ` xmlns="${FHIR_NS}"` : ''}>`);
    this.elements(obj, modelOf(type), depth + 1, p, true);
    this.line(depth, `</${type}>`);
  }

  private elements(obj: JsonIn, model: TypeModel, depth: number, path: string, isResource: boolean): void {
    const used = new Set<string>(isResource ? ['resourceType'] : ['id', ...(model.name === 'Extension' ? ['url'] : [])]);
    for (const slot of model.slots) {
      if (used.has(slot.name)) continue;
      const value = obj[slot.name];
      const extra = obj[`_${slot.name}`];
      if (value === undefined && extra === undefined) continue;
      used.add(slot.name);
      used.add(`_${slot.name}`);
      this.slot(slot, value, extra, depth, `${path}.${slot.name}`);
    }
    for (const key of Object.keys(obj)) {
      if (!used.has(key)) throw cannotWrite(`${path}.${shown(key)}`, `not an element of ${model.name}`);
    }
  }

  private slot(slot: Slot, value: unknown, extra: unknown, depth: number, path: string): void {
    if (isPrimitiveCode(slot.code) && slot.code !== 'xhtml') {
      const values = Array.isArray(value) ? (value as unknown[]) : value === undefined ? [] : [value];
      const extras = Array.isArray(extra) ? (extra as unknown[]) : extra === undefined ? [] : [extra];
      const n = Math.max(values.length, extras.length);
      for (let i = 0; i < n; i++) this.primitive(slot, values[i] ?? null, (extras[i] ?? null) as JsonIn | null, depth, path);
      return;
    }
    const items = Array.isArray(value) ? (value as unknown[]) : [value];
    for (const item of items) {
      if (item === null || (typeof item !== 'object' && slot.code !== 'xhtml')) throw cannotWrite(path, 'not an object');
      if (slot.code === 'xhtml') this.xhtml(item, depth, path);
      else if (slot.code === 'Resource') {
        this.line(depth, `<${slot.name}>`);
        this.resource(item as JsonIn, depth + 1, path, false);
        this.line(depth, `</${slot.name}>`);
      } else this.complex(slot.name, item as JsonIn, modelOf(slot.code), depth, path);
    }
  }

  private complex(name: string, obj: JsonIn, model: TypeModel, depth: number, path: string): void {
    let attrs = '';
    if (obj['id'] !== undefined) attrs += ` id="${this.attr(obj['id'], `${path}.id`)}"`;
    if (model.name === 'Extension' && obj['url'] !== undefined) attrs += ` url="${this.attr(obj['url'], `${path}.url`)}"`;
    const start = this.parts.length;
    this.line(depth, `<${name}${attrs}>`);
    const before = this.parts.length;
    this.elements(obj, model, depth + 1, path, false);
    if (this.parts.length === before) {
      this.parts.length = start;
      this.line(depth, `<${name}${attrs}/>`);
    } else this.line(depth, `</${name}>`);
  }

  private primitive(slot: Slot, value: unknown, extra: JsonIn | null, depth: number, path: string): void {
    let attrs = '';
    if (extra?.['id'] !== undefined) attrs += ` id="${this.attr(extra['id'], `${path}.id`)}"`;
    if (value !== null) attrs += ` value="${this.attr(value, path)}"`;
    const exts = extra?.['extension'];
    for (const key of Object.keys(extra ?? {})) {
      if (key !== 'id' && key !== 'extension') throw cannotWrite(`${path}.${shown(key)}`, 'a primitive carries only id and extension');
    }
    if (!Array.isArray(exts) || exts.length === 0) {
      if (attrs === '') return;
      this.line(depth, `<${slot.name}${attrs}/>`);
      return;
    }
    this.line(depth, `<${slot.name}${attrs}>`);
    for (const e of exts as unknown[]) {
      if (e === null || typeof e !== 'object') throw cannotWrite(`${path}.extension`, 'not an object');
      this.complex('extension', e as JsonIn, modelOf('Extension'), depth + 1, `${path}.extension`);
    }
    this.line(depth, `</${slot.name}>`);
  }

  private attr(value: unknown, path: string): string {
    let text: string;
    if (value instanceof NumberText) text = value.text;
    else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') text = String(value);
    else throw cannotWrite(path, 'not a primitive value');
    if (NOT_XML_CHAR.test(text)) throw cannotWrite(path, 'a character XML 1.0 cannot carry');
    return escapeAttribute(text);
  }

  /** The div as it is: checked to be one well-formed XHTML div, then copied unchanged. */
  private xhtml(value: unknown, depth: number, path: string): void {
    if (typeof value !== 'string') throw cannotWrite(path, 'the narrative is not a string');
    checkXhtmlDiv(value, path);
    this.line(depth, value);
  }
}

/** A narrative div must be one well-formed element, `div` in the XHTML namespace, to be copied into XML as it is. */
function checkXhtmlDiv(div: string, path: string): void {
  const parser = new SaxesParser({ xmlns: true, position: false, defaultXMLVersion: '1.0', forceXMLVersion: true });
  let first = true;
  let ok = true;
  parser.on('doctype', () => {
    ok = false;
  });
  parser.on('xmldecl', () => {
    ok = false;
  });
  parser.on('opentag', (tag) => {
    if (first && (tag.local !== 'div' || tag.uri !== XHTML_NS || tag.prefix !== '')) ok = false;
    first = false;
  });
  try {
    parser.write(div).close();
  } catch {
    ok = false;
  }
  if (!ok) throw cannotWrite(path, 'the narrative is not one well-formed XHTML div');
}

/**
 * A FHIR resource (as `parseJsonKeepingNumberText` returns it, or any plain JSON value) as FHIR
 * XML, with the XML declaration. `pretty` indents by two spaces. A resource that XML cannot carry
 * (an element R4 does not define, a character outside XML 1.0) is a 406 OperationOutcomeError.
 */
export function resourceToFhirXml(resource: unknown, pretty = false): string {
  if (resource === null || typeof resource !== 'object' || Array.isArray(resource)) throw cannotWrite('the body', 'not a resource');
  const w = new XmlWriter(pretty);
  w.resource(resource as JsonIn, 0, '', true);
  return `<?xml version="1.0" encoding="UTF-8"?>${pretty ? '\n' : ''}${w.toString()}`;
}

/** FHIR JSON text as FHIR XML (decimals written as their JSON text). */
export function fhirJsonTextToXml(json: string, pretty = false): string {
  return resourceToFhirXml(parseJsonKeepingNumberText(json), pretty);
}
