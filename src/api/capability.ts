/**
 * The CapabilityStatement, generated from what the server really has: the routes in the
 * router (interactions and operations), the searchable parameters of each type, the profiles
 * and the OperationDefinitions. Nothing here is a hand-written list of features.
 */
import type { CapabilityStatement, CapabilityStatementRestResource, CapabilityStatementRestSecurity } from '@medplum/fhirtypes';
import { MEDID_CANONICAL } from '../core/canonical.ts';
import type { FhirDefinitions } from '../fhir/definitions/index.ts';
import { isSearchable } from '../fhir/definitions/search-params.ts';
import type { Router } from './router.ts';
import { FHIR_CORE } from '../core/systems.ts';

type TypeInteraction = NonNullable<CapabilityStatementRestResource['interaction']>[number]['code'];

const TYPE_INTERACTIONS: Record<string, TypeInteraction> = {
  read: 'read',
  vread: 'vread',
  update: 'update',
  delete: 'delete',
  'history-instance': 'history-instance',
  'history-type': 'history-type',
  create: 'create',
  'search-type': 'search-type',
  'conditional-update': 'update',
  patch: 'patch',
  'conditional-patch': 'patch',
};

export interface CapabilityOptions {
  baseUrl: string;
  version: string;
  /** rest.security, added by the authorization layer when it is on. */
  security?: CapabilityStatementRestSecurity;
  /** Types served by their own routes (AuditEvent), described by those routes' owners. */
  overrides?: readonly CapabilityStatementRestResource[];
}

export function buildCapabilityStatement(defs: FhirDefinitions, router: Router, o: CapabilityOptions): CapabilityStatement {
  const routes = router.list();
  const has = (name: string, pattern: string): boolean => routes.some((r) => r.name === name && r.pattern === pattern);
  const typeCodes = [
    ...new Set(routes.filter((r) => TYPE_INTERACTIONS[r.name] && r.pattern.startsWith('/:type')).map((r) => TYPE_INTERACTIONS[r.name])),
  ];
  const operations = defs.operations;
  const profilesByType = new Map<string, string[]>();
  for (const [url, sd] of defs.profiles) {
    if (!url.includes('|')) profilesByType.set(sd.type, [...(profilesByType.get(sd.type) ?? []), url]);
  }
  const overrides = new Map((o.overrides ?? []).map((r) => [r.type as string, r]));
  const resources: CapabilityStatementRestResource[] = defs.resourceTypes.map((type) => {
    const own = overrides.get(type);
    if (own) return own;
    const params = [...defs.searchParams.forType(type).values()].filter(isSearchable);
    const refs = params.filter((p) => p.type === 'reference');
    const ops = operations.filter(
      (d) => (d.type || d.instance) && ((d.resource ?? []) as string[]).some((r) => r === type || r === 'Resource'),
    );
    const res: CapabilityStatementRestResource = {
      type: type as CapabilityStatementRestResource['type'],
      profile: `${FHIR_CORE.structureDefinition}${type}`,
      interaction: typeCodes.map((code) => ({ code })),
      versioning: 'versioned-update',
      readHistory: true,
      updateCreate: true,
      conditionalCreate: has('create', '/:type'),
      conditionalRead: 'not-supported',
      conditionalUpdate: has('conditional-update', '/:type'),
      conditionalDelete: has('conditional-delete', '/:type') ? 'single' : 'not-supported',
      referencePolicy: ['literal', 'local'],
      searchInclude: refs.map((p) => `${type}:${p.code}`),
      searchRevInclude: [],
      searchParam: params.map((p) => ({ name: p.code, definition: p.url, type: p.type as never, documentation: p.description })),
    };
    const supported = profilesByType.get(type);
    if (supported) res.supportedProfile = supported;
    if (ops.length > 0) res.operation = ops.map((d) => ({ name: d.code, definition: d.url as string }));
    return res;
  });
  // _revinclude: every reference parameter that can point at the type.
  const byType = new Map<string, CapabilityStatementRestResource>(resources.map((r) => [r.type, r]));
  for (const src of resources) {
    if (overrides.has(src.type)) continue;
    for (const p of src.searchParam ?? []) {
      if (p.type !== 'reference') continue;
      const def = defs.searchParams.get(src.type, p.name);
      for (const t of def?.targets ?? []) byType.get(t)?.searchRevInclude?.push(`${src.type}:${p.name}`);
    }
  }
  // R4 JSON has no empty arrays: a type nothing includes or revincludes leaves the element out.
  for (const r of resources) {
    if (r.searchInclude?.length === 0) delete r.searchInclude;
    if (r.searchRevInclude?.length === 0) delete r.searchRevInclude;
  }
  const systemOps = operations.filter((d) => d.system).map((d) => ({ name: d.code, definition: d.url as string }));
  const rest: NonNullable<CapabilityStatement['rest']>[number] = {
    mode: 'server',
    documentation:
      'JSON and XML (application/fhir+json, application/fhir+xml). Base-specification violations answer 400, profile and business-rule violations 422. Searches page by keyset cursors (_cursor); unknown search parameters answer 400 unless Prefer: handling=lenient.',
    resource: resources,
    interaction: [
      ...(has('transaction', '/') ? [{ code: 'transaction' as const }, { code: 'batch' as const }] : []),
      ...(has('history-system', '/_history') ? [{ code: 'history-system' as const }] : []),
    ],
    searchParam: [
      { name: '_count', type: 'number', documentation: 'Page size' },
      { name: '_sort', type: 'string', documentation: 'Sort keys; - for descending' },
      { name: '_total', type: 'token', documentation: 'none | estimate | accurate' },
      { name: '_summary', type: 'token', documentation: 'true | false | text | data | count' },
      { name: '_elements', type: 'string', documentation: 'Top-level elements to return' },
      { name: '_has', type: 'string', documentation: 'Reverse chaining: _has:Type:reference:parameter=value (nested up to 3 deep)' },
    ],
  };
  if (systemOps.length > 0) rest.operation = systemOps;
  if (o.security) rest.security = o.security;
  return {
    resourceType: 'CapabilityStatement',
    url: `${MEDID_CANONICAL}/CapabilityStatement/medid`,
    version: o.version,
    name: 'MedidServer',
    title: 'medid FHIR R4 server',
    status: 'active',
    date: new Date().toISOString(),
    publisher: 'medid',
    kind: 'instance',
    software: { name: 'medid', version: o.version },
    implementation: { description: 'medid: FHIR R4 server of the medical-ID authority', url: o.baseUrl },
    fhirVersion: '4.0.1',
    format: ['json', 'application/fhir+json', 'xml', 'application/fhir+xml'],
    // PATCH bodies: JSON Patch (RFC 6902) and FHIRPath Patch (a Parameters resource).
    ...(has('patch', '/:type/:id') ? { patchFormat: ['application/json-patch+json', 'application/fhir+json'] } : {}),
    rest: [rest],
  };
}
