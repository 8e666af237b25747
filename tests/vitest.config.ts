import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'tests',
    include: ['**/*.test.ts'],
    // observability/ and data/ are `pnpm test:observability` and `pnpm test:data`, steps of their own in
    // scripts/test (a real Prometheus; faults injected into the stack).
    exclude: ['**/node_modules/**', 'observability/**', 'data/**'],
    // helm, the validator and actionlint run as child processes; the first call of each can be slow.
    testTimeout: 60_000,
  },
});
