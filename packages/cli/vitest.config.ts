import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@cinemaabyss/cli',
    // The tests run the built CLI as a real process, so dist/ is rebuilt from src/ once before them.
    globalSetup: './test/build.ts',
    // A case starts up to eight node processes (about 0.1 s each, seconds on a loaded machine).
    testTimeout: 30_000,
  },
});
