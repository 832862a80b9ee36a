import { defineConfig } from 'vitest/config';

// `npm run test:slow`: scenarios too long for `npm test` (test/**/*.slow.test.ts; vitest.config.ts
// excludes them). One file at a time: each builds its own network of hosts or cluster. Same
// source resolution as vitest.config.ts.
export default defineConfig({
  resolve: { conditions: ['stickyd-source'] },
  test: {
    include: ['test/**/*.slow.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    maxWorkers: 1,
    reporters: ['default'],
  },
});
