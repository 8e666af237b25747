import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'tests',
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    // helm, the validator and actionlint run as child processes; the first call of each can be slow.
    testTimeout: 60_000,
  },
});
