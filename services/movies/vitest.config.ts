import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    // The integration tests run against the real PostgreSQL; bring its schema up to date first.
    globalSetup: ['./test/global-setup.ts'],
  },
});
