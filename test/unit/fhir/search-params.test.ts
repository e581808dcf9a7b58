import { describe, expect, it } from 'vitest';
import { expressionFor, rewriteResolve, splitUnion } from '../../../src/fhir/definitions/search-params.ts';

describe('search parameter expressions', () => {
  it('splits a union at the top level only', () => {
    expect(splitUnion("A.b | (C.d as Quantity) | E.f.where(g = 'x|y')")).toEqual(['A.b', '(C.d as Quantity)', "E.f.where(g = 'x|y')"]);
  });
  it('keeps the part for one resource type', () => {
    expect(
      expressionFor('AllergyIntolerance.patient | CarePlan.subject.where(resolve() is Patient) | Observation.subject', 'Observation'),
    ).toBe('Observation.subject');
    expect(expressionFor('(Observation.value as Quantity) | (Observation.value as SampledData)', 'Observation')).toBe(
      '(Observation.value as Quantity) | (Observation.value as SampledData)',
    );
    expect(expressionFor('Patient.name', 'Observation')).toBeUndefined();
  });
  it('keeps parts rooted at Resource for every type', () => {
    expect(expressionFor('Resource.meta.tag', 'Patient')).toBe('Resource.meta.tag');
  });
  it('rewrites resolve() type tests into tests on the reference text', () => {
    expect(rewriteResolve('Observation.subject.where(resolve() is Patient)')).toBe(
      "Observation.subject.where(reference.startsWith('Patient/') or reference.contains('/Patient/'))",
    );
  });
});

describe('the R4 search parameters', () => {
  it('every supported expression compiles with the fhirpath engine', async () => {
    const { loadDefinitions } = await import('../../../src/fhir/definitions/index.ts');
    const { PROFILES_DIR } = await import('../../helpers/server.ts');
    const defs = await loadDefinitions(PROFILES_DIR);
    expect(defs.searchParams.compileAll()).toEqual([]);
  });
});
