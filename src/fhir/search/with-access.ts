/**
 * The caller's access policy at every level of a search: the searched rows, and the rows each
 * chain (`subject.name=…`) and reverse chain (`_has:Observation:patient:code=…`) looks into. A
 * chain or `_has` must not reveal what a hidden resource says, nor that it exists.
 */
import type { RowAccess } from '../../core/access.ts';
import type { Criterion } from './model.ts';

const limited = (c: Criterion, access: RowAccess): Criterion => ({ kind: 'any', groups: [[c, { kind: 'access', access }]] });

function deep(c: Criterion, access: RowAccess): Criterion {
  switch (c.kind) {
    case 'chain':
      return { ...c, inner: c.inner.map((x) => limited(deep(x, access), access)) };
    case 'has':
      return { ...c, inner: limited(deep(c.inner, access), access) };
    case 'any':
      return { ...c, groups: c.groups.map((g) => g.map((x) => deep(x, access))) };
    default:
      return c;
  }
}

/** The criteria with `access` added to the searched rows and to every chained or reverse-chained look. */
export function withAccess(criteria: readonly Criterion[], access: RowAccess): Criterion[] {
  if (access.kind === 'all') return [...criteria];
  return [...criteria.map((c) => deep(c, access)), { kind: 'access', access }];
}
