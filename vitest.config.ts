import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real-kernel tests share network namespaces and the 2 cores: run files one at a time
    // within those folders (see test/tap); unit and sim tests are pure and run in parallel.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
