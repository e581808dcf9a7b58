// The floor plan of src/, written once. `npm run lint` (and CI) refuses an import cycle and an
// import that points up. Layers, bottom to top; a folder may import its own layer's folder and
// any layer below it, never one above:
//
//   kernel    core/ · jp/ · identifiers/ · fhir/   (everyone may use them)
//   store     SQL, the drivers, the database-error mapper
//   repo      the FHIR resource repository as a unit of work, validation, search, history
//   services  auth/ · audit/ · privacy/ · mpi/ · eligibility/ · registry/ · pseudonym/ — they never import
//             each other: they meet in api/ handlers and in app.ts (events, injected functions)
//   api       router, FhirRequest, interactions/, operations/, the audit hook — never store/
//   http      the Express edge
//   top       app.ts (wiring), main.ts, config.ts, cli/
//
// Type-only imports count: a type pulled from above is an upward dependency all the same.

const SERVICES = ['auth', 'audit', 'privacy', 'mpi', 'eligibility', 'registry', 'pseudonym'];
const LAYERS = [['core'], ['jp'], ['identifiers', 'fhir'], ['store'], ['repo'], SERVICES, ['api'], ['http'], ['cli', 'top']];

/** `src/<folder>/…`, or the top-level files for 'top'. */
const pathOf = (folders) => `^src/(${folders.map((f) => (f === 'top' ? '[^/]+\\.ts$' : `${f}/`)).join('|')})`;

const upward = LAYERS.flatMap((layer, i) => {
  const above = LAYERS.slice(i + 1).flat();
  return above.length === 0
    ? []
    : [
        {
          name: `no-upward-from-${layer.join('-')}`,
          comment: `${layer.join(', ')} may not import a higher layer (${above.join(', ')})`,
          severity: 'error',
          from: { path: pathOf(layer) },
          to: { path: pathOf(above) },
        },
      ];
});

// Named apart from the rule above so a refusal says why: the registry (and the My Number MAC in
// privacy/my-number) and the pseudonymization service hold different keys and never each other's
// (privacy-design.md §1); the store's SQL for one is not the other's either.
const keyHolders = [
  {
    name: 'no-pseudonym-keys-in-registry',
    comment: 'The registry and the My Number MAC never reach the pseudonymization service or its SQL (its keys stay with it)',
    severity: 'error',
    from: { path: '^src/(registry|privacy)/' },
    to: { path: '^src/(pseudonym/|store/pseudonym)' },
  },
  {
    name: 'no-registry-keys-in-pseudonym',
    comment:
      'The pseudonymization service never reaches the registry, the My Number MAC or their SQL: of store/ it uses its own tables only',
    severity: 'error',
    from: { path: '^src/pseudonym/' },
    to: { path: '^src/(registry|privacy|store)/', pathNot: '^src/store/(db|pseudonym-[a-z-]+)\\.ts$' },
  },
];

const sideways = [
  ...keyHolders,
  ...SERVICES.map((s) => ({
    name: `no-service-to-service-from-${s}`,
    comment: 'Services never import each other: announce an event or take a function, wired in app.ts',
    severity: 'error',
    from: { path: pathOf([s]) },
    to: { path: pathOf(SERVICES.filter((t) => t !== s)) },
  })),
  {
    name: 'no-identifiers-fhir-crossing',
    comment: 'identifiers/ and fhir/ are independent parts of the kernel',
    severity: 'error',
    from: { path: pathOf(['identifiers']) },
    to: { path: pathOf(['fhir']) },
  },
  {
    name: 'no-fhir-identifiers-crossing',
    comment: 'identifiers/ and fhir/ are independent parts of the kernel',
    severity: 'error',
    from: { path: pathOf(['fhir']) },
    to: { path: pathOf(['identifiers']) },
  },
  {
    name: 'no-edge-to-repo',
    comment: 'The HTTP edge hands requests to api/; it never reaches the repository itself',
    severity: 'error',
    from: { path: pathOf(['http']) },
    to: { path: pathOf(['repo']) },
  },
  {
    name: 'no-handler-sql',
    comment: 'Handlers call services and the repository; only they reach store/',
    severity: 'error',
    from: { path: pathOf(['api', 'http']) },
    to: { path: pathOf(['store']) },
  },
];

export default {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import cycle: two modules that need each other belong together, or one needs an event',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    ...upward,
    ...sideways,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
