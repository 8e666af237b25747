import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'tests',
    include: ['**/*.test.ts'],
    // observability/ is `pnpm test:observability`, a step of its own in scripts/test.
    exclude: ['**/node_modules/**', 'observability/**'],
    // helm, the validator and actionlint run as child processes; the first call of each can be slow.
    testTimeout: 60_000,
  },
});
