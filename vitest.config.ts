import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One Verdaccio (staging + 2FA) for the whole run; see test/support/global-setup.ts.
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    // 2 cores: end-to-end files spawn Verdaccio clients, CLIs and ptys; more workers only add contention.
    pool: 'forks',
    maxWorkers: 2,
  },
});
