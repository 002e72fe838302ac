import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';
import SlowestFirst from './sequencer.js';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    // The slowest files first (test/sequencer.ts): CI has no vitest cache of durations.
    sequence: { sequencer: SlowestFirst },
    // Test files start real servers and browsers; a failure should show what the CLI printed.
    printConsoleTrace: false,
  },
});
