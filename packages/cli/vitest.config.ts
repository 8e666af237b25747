import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@cinemaabyss/cli',
    // The tests run the built CLI as a real process, so dist/ is rebuilt from src/ once before them.
    globalSetup: './test/build.ts',
  },
});
