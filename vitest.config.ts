import { configDefaults, defineConfig } from 'vitest/config';

// Tests run against the TypeScript sources: the "stickyd-source" export condition makes
// `import ... from 'stickyd/cluster'` resolve to src/ (see package.json "exports"), and the
// processes tests spawn do the same through test/helpers/spawn.ts (node --import tsx).
export default defineConfig({
  resolve: { conditions: ['stickyd-source'] },
  test: {
    include: ['test/**/*.test.ts'],
    // The slow scenarios have their own run: npm run test:slow (vitest.slow.config.ts).
    exclude: [...configDefaults.exclude, 'test/**/*.slow.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Tests open real sockets and spawn real processes; two workers match the 2-core machines.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
