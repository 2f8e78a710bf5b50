// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier/flat';

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      '.ci/.node/**',
      'cdk.out/**',
      'out/**',
      'bench/.venv/**',
      'coverage/**',
      'test-artifacts/**',
      '**/*.d.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    // The layering of DESIGN.md: matching/ and models/ are pure and import nothing from the I/O layers.
    files: ['matching/**/*.ts', 'models/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/pipelines/**', '**/functions/**', '**/infra/**'],
              message: 'matching/ and models/ are pure: no imports from pipelines/, functions/ or infra/.',
            },
            {
              group: ['@aws-sdk/*', 'aws-cdk-lib', 'aws-cdk-lib/*', '@duckdb/*', 'node:fs', 'node:fs/promises', 'fs'],
              message: 'matching/ and models/ do no I/O.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['pipelines/**/*.ts', 'infra/**/*.ts', 'matching/**/*.ts', 'models/**/*.ts', 'fixtures/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ group: ['**/functions/**'], message: 'Nothing depends on functions/.' }],
        },
      ],
    },
  },
  // last: turns off the stylistic rules Prettier owns (formatting is Prettier's, in the lint step)
  prettier,
);
