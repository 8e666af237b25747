import { defineConfig } from 'vitest/config';

// `pnpm test:data`, its own step of scripts/test: it kills and restarts parts of the running stack (the
// Connect worker, PostgreSQL, movies-sync), so the root `vitest run` leaves it out and nothing runs beside it.
export default defineConfig({
  test: {
    name: 'data',
    root: import.meta.dirname,
    include: ['*.test.ts'],
    fileParallelism: false,
    testTimeout: 150_000,
    hookTimeout: 180_000,
  },
});
