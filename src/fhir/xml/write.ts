/**
 * FHIR JSON to FHIR R4 XML (xml.html), in definition order, primitives as `value` attributes,
 * decimals written as their JSON text (core/json.ts `parseJsonRawNumbers`), the narrative div
 * copied as it is once checked to be one well-formed XHTML div. A resource XML cannot carry (an
 * element R4 does not define, a character outside XML 1.0) is a 406 OperationOutcomeError.
 */
import { SaxesParser } from 'saxes';
import { parseJsonRawNumbers, rawNumberText } from '../../core/json.ts';
import { errors } from '../../core/outcome.ts';
import type { OperationOutcomeError } from '../../core/outcome.ts';
import { escapeAttribute } from './escape.ts';
import { FHIR_NS, isPrimitiveCode, isResourceType, modelOf, shown, XHTML_NS } from './model.ts';
import type { Slot, TypeModel } from './model.ts';

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
    const literal = rawNumberText(value);
    if (literal !== undefined) text = literal;
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
 * A FHIR resource (as `parseJsonRawNumbers` returns it, or any plain JSON value) as FHIR
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
  return resourceToFhirXml(parseJsonRawNumbers(json), pretty);
}
