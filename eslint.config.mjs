// ESLint flat config: typescript-eslint's recommended rules for the TypeScript sources, and the
// one architectural rule that matters most: the pure core in lib/ never imports Node-RED.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.node-red/**', 'nodes/**/*.html'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['lib/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'node-red', message: 'lib/ is the pure core: keep Node-RED in nodes/.' }],
        patterns: [{ group: ['node-red', 'node-red/*', '@node-red/*', '**/nodes/*', '../nodes/**', '../../nodes/**'], message: 'lib/ is the pure core: keep Node-RED in nodes/.' }],
      }],
    },
  },
  {
    // Simulators play the vendors' side from their API shapes: sharing PlantSync's code would let a
    // mapping bug hide in both ends.
    files: ['sim/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['**/lib/**', '**/lib', '**/nodes/**'], message: 'simulators never import PlantSync code' }],
      }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        require: 'readonly', module: 'writable', __dirname: 'readonly', process: 'readonly', console: 'readonly',
        Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', fetch: 'readonly', URLSearchParams: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  { files: ['**/*.mjs'], languageOptions: { sourceType: 'module' } },
);
