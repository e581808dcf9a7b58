// Lint rules from the architecture guide: strict typescript-eslint, no floating promises,
// exhaustive switches, type-only imports, no `any`, and database drivers only in src/store.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'dist/', 'coverage/', 'ig/site/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.js', '.dependency-cruiser.mjs', 'bin/medid.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/no-unnecessary-condition': 'off',
      '@typescript-eslint/no-extraneous-class': 'off',
      // Stylistic: `() => expect(x).toBe(y)` and `(r) => setTimeout(r)` read fine.
      '@typescript-eslint/no-confusing-void-expression': 'off',
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'pg', message: 'SQL lives in src/store only.' },
            { name: '@electric-sql/pglite', message: 'SQL lives in src/store only.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/store/**/*.ts', 'test/helpers/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  { files: ['eslint.config.js', '.dependency-cruiser.mjs', 'bin/medid.js'], ...tseslint.configs.disableTypeChecked },
  // The person's portal (portal/*.js): plain browser ES modules, linted without type information.
  {
    files: ['portal/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: Object.fromEntries(
        [
          ...['window', 'document', 'location', 'history', 'navigator', 'localStorage', 'sessionStorage', 'fetch', 'crypto', 'CSS'],
          ...['console', 'URL', 'URLSearchParams', 'TextEncoder', 'Intl', 'btoa', 'atob', 'setTimeout', 'clearTimeout'],
          ...['Node', 'Element', 'HTMLElement', 'HTMLInputElement', 'HTMLSelectElement', 'HTMLButtonElement', 'HTMLDialogElement', 'Event'],
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
);
