// ESLint with typescript-eslint's strict, type-aware rules (run by `npm test` through `npm run lint`).
import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'test/support/verdaccio/', 'coverage/', '**/*.d.mts'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    // tsconfig.test.json holds src and test in one program: the tests are checked with the types they run with.
    languageOptions: { parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Numbers in messages are the norm here (sizes, counts, codes); objects and undefined are still caught.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // `(x) => out.line(x)` is an ordinary callback.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // `_name` marks a binding kept on purpose (a destructured field left out of a copy).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      // Off on purpose: bytes from backends, registries and tarballs are untrusted, and their declared types say
      // what we expect, not what arrives. Defensive `String(x)`, `?? ''` and `?.` on such values stay.
      '@typescript-eslint/no-unnecessary-type-conversion': 'off',
      '@typescript-eslint/no-unnecessary-condition': 'off',
    },
  },
  // The sanitiser and the tarball rules match control and bidi characters on purpose.
  { files: ['src/ui/sanitize.ts', 'src/core/**/*.ts', 'src/npm/tar-headers.ts'], rules: { 'no-control-regex': 'off', 'no-misleading-character-class': 'off' } },
  {
    files: ['test/**/*.ts'],
    rules: {
      // A wrong `!` in a test throws and fails the test, which is what it is there for.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Tests write and look for the control and escape characters the code must neutralise.
      'no-control-regex': 'off',
      // Fakes implement async interfaces (backends, prompts, publish) without anything to await.
      '@typescript-eslint/require-await': 'off',
      // The CLI's --json output and hostile JSON are parsed to `any` and checked field by field with expect.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  // Plain JavaScript (bench/, scripts/, test/support/*.mjs, bin/) runs in Node without a build: no types to check.
  { files: ['**/*.mjs', '**/*.js', '**/*.cjs'], ...tseslint.configs.disableTypeChecked },
  { files: ['**/*.mjs', '**/*.js', '**/*.cjs'], languageOptions: { globals: globals.node } },
)
