import { defineConfig } from 'vitest/config';

// `pnpm test:observability`, its own step of scripts/test (a real Prometheus against the running stack),
// so the root `vitest run` leaves it out.
export default defineConfig({
  test: {
    name: 'observability',
    root: import.meta.dirname,
    include: ['*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
