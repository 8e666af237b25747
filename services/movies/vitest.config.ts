import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    // The integration tests run against the real PostgreSQL; bring both schemas up to date first.
    globalSetup: ['./test/global-setup.ts'],
    // A consumer group joins in about 3 s; the movies-sync tests start several.
    testTimeout: 30_000,
  },
});
