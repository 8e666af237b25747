import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const vendored = fileURLToPath(new URL('../contracts/api-specification.yaml', import.meta.url));
// The published contract sits beside the repository in the team's workspace (not on GitHub runners).
const published = fileURLToPath(new URL('../../shared/contracts/api-specification.yaml', import.meta.url));

it.skipIf(!existsSync(published))('the vendored API contract is the published one, unchanged', () => {
  expect(readFileSync(vendored, 'utf8')).toBe(readFileSync(published, 'utf8'));
});
