// Lint: typescript-eslint's strict, type-checked rules over every TypeScript
// file of the repository. Formatting is Prettier's (eslint-config-prettier
// turns off the rules that would fight it). Where a rule is tuned or turned
// off, the reason is beside it.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

const testFiles = ['**/*.spec.ts', '**/*.contract.ts', '**/*.fixture.ts', '**/testing/**', 'test/**', 'bench/**'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', 'bench/results/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // tsconfig's noUncheckedIndexedAccess makes every `rows[i]` possibly
      // undefined; `rows[i]!` is how a loop bound or a length check already
      // made says so. The rule would forbid the idiom the stricter compiler
      // option asks for.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Numbers in messages and SQL names (`partition ${p}`) are what templates are for.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // `() => socket.close()` as a callback is the idiom; a void call in a
      // statement position or a return is still refused.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // `_name` marks a parameter an interface requires and this implementation
      // does not use; `const { secret: _, ...rest } = x` drops a field.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: testFiles,
    rules: {
      // Tests read JSON bodies and frames as they come off the wire and assert
      // on their shape; a type for every response would restate the assertions.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
  prettier,
);
