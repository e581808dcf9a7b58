/**
 * Normalizes every identifier in a resource on write: each Identifier (anywhere: Patient,
 * Coverage, Organization, a Reference's identifier, a contained resource or a Bundle entry…) whose system medid knows is rewritten to
 * its canonical system and value; JP Core Coverage extensions for 記号/番号/枝番 likewise.
 * Values that cannot be made valid are refused together, each issue naming its element as a
 * FHIRPath expression and the rule broken (422; nothing is written). A My Number card's
 * certificate serial is refused wherever it appears: it is input only.
 */
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { carryDecimals } from '../core/json.ts';
import { errors, issue } from '../core/outcome.ts';
import { EXTENSIONS, ID_SYSTEMS, SYSTEMS } from '../core/systems.ts';
import { parseInsuredNumber, parseInsuredSubnumber, parseInsuredSymbol } from './insured-parts.ts';
import type { ParseResult } from './kind.ts';
import type { IdentifierCatalog } from './catalog.ts';

const JP_CARD = EXTENSIONS.jpCoverageInsuredPerson;
/** JP Core Coverage extensions carrying the parts of an insurance card number. */
export const COVERAGE_PART_EXTENSIONS: Readonly<Record<string, (raw: string) => ParseResult>> = {
  [`${JP_CARD}Symbol`]: parseInsuredSymbol,
  [`${JP_CARD}Number`]: parseInsuredNumber,
  [`${JP_CARD}SubNumber`]: (raw) => {
    const r = parseInsuredSubnumber(raw);
    return r.ok && r.value === ''
      ? { ok: false, rule: 'insured-subnumber.empty', message: 'insured person branch number (枝番): the extension must not be empty' }
      : r;
  },
};

type Obj = Record<string, unknown>;

function rejectIssue(expression: string, rule: string, message: string): OperationOutcomeIssue {
  const i = issue({ code: 'value', medid: 'invalid-identifier', text: message, expression });
  i.details?.coding?.push({ system: SYSTEMS.medidErrorRule, code: rule });
  return i;
}

export function normalizeIdentifiers<T extends Resource>(
  resource: T,
  catalog: IdentifierCatalog,
): { resource: T; issues: OperationOutcomeIssue[] } {
  const issues: OperationOutcomeIssue[] = [];
  const visit = (node: unknown, path: string, key: string): unknown => {
    if (Array.isArray(node)) return node.map((x, i) => visit(x, `${path}[${i}]`, key));
    if (typeof node !== 'object' || node === null) return node;
    const o = node as Obj;
    let out: Obj = {};
    // Contained resources and Bundle entries are visited too: an identifier is checked wherever it is.
    for (const [k, v] of Object.entries(o)) out[k] = visit(v, `${path}.${k}`, k);
    // A card certificate's serial is input only (jpki-user-certificate.ts): no resource keeps it.
    if (key === 'identifier' && o['system'] === ID_SYSTEMS.jpkiUserCertificate) {
      issues.push(
        rejectIssue(
          `${path}.system`,
          'jpki-user-certificate.input-only',
          "a My Number card's certificate serial is input only: it is kept as a keyed MAC (Patient/$register-card), never in a resource",
        ),
      );
    } else if (key === 'identifier' && typeof o['system'] === 'string' && typeof o['value'] === 'string' && catalog.checks(o['system'])) {
      const r = catalog.parse(o['system'], o['value']);
      if (r.ok) out = { ...out, system: catalog.canonicalSystem(o['system']), value: r.value };
      else issues.push(rejectIssue(`${path}.value`, r.rule, r.message));
    }
    if (key === 'extension' && typeof o['url'] === 'string' && typeof o['valueString'] === 'string') {
      const parse = COVERAGE_PART_EXTENSIONS[o['url']];
      if (parse) {
        const r = parse(o['valueString']);
        if (r.ok) out = { ...out, valueString: r.value };
        else issues.push(rejectIssue(`${path}.value`, r.rule, r.message));
      }
    }
    return carryDecimals(o, out);
  };
  const normalized = visit(resource, resource.resourceType, '') as T;
  return { resource: normalized, issues };
}

/** The write hook: normalized resource, or 422 listing every identifier that is wrong. */
export function identifierHook(catalog: IdentifierCatalog): (r: Resource) => Resource {
  return (r) => {
    const { resource, issues } = normalizeIdentifiers(r, catalog);
    if (issues.length > 0) throw errors.invalid(issues, 422);
    return resource;
  };
}
