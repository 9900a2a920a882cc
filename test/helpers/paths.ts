import * as path from 'node:path';

/** The repository root, from the compiled test files in dist/test/<folder>/. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const FIXTURE_DIR = path.join(REPO_ROOT, 'test', 'fixtures');
