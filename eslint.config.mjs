// `npm run lint`: typescript-eslint's type-checked recommended rules over every workspace's
// TypeScript, the plain recommended rules over the scripts and the browser files. .ci/run runs it
// before the tests.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.tap/**', 'coverage/**'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Turned off (the whole list):
      // - require-await: fastify handlers, knex and NATS callbacks are async by contract, awaited or not.
      '@typescript-eslint/require-await': 'off',
      // `_`-prefixed names are deliberately unused (a parameter an interface requires).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Tests and the simulators' checks read JSON answers whose shape the assertion itself checks,
    // tap's subtests are promises tap awaits itself, and messages may print whatever a check got.
    files: ['**/test/**/*.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  { files: ['**/*.mjs', 'scripts/**/*.js'], languageOptions: { globals: globals.node } },
  {
    files: ['templates/static/**/*.js', 'test/sim/b24/assets/**/*.js'],
    languageOptions: { globals: globals.browser },
  },
);
