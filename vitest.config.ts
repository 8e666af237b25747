import { defineConfig } from 'vitest/config';

// One root command runs every project's tests; each service and package is its own project.
export default defineConfig({
  test: {
    projects: ['services/*', 'packages/*', 'tests'],
    reporters: process.env.CI
      ? ['default', ['junit', { outputFile: 'reports/vitest-junit.xml' }]]
      : ['default'],
  },
});
