import { globSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

/**
 * Two projects (CONTRIBUTING.md "Tests"). `unit`: pure code (the linkage engine, the rule engine and models, feed
 * contracts, the CSV reader, report rendering, the state machine definition): no DuckDB, no worker threads, no child
 * processes, no files written; `npm run test:unit`, well under a minute. `e2e`: everything else (stages over local
 * files and DuckDB, the local runner, the CLI and its bundle, S3 through moto, the synthesized stack, the browser, the
 * accuracy floors); `npm run test:e2e`. `npm test` runs both. A new test file is e2e unless it matches UNIT.
 */
const UNIT = [
  'test/matching/**/*.test.ts',
  'test/models/**/*.test.ts',
  'test/feeds/{catalogue,schemas,mappers,docs}.test.ts',
  'test/io/{csv,read-ahead}.test.ts',
  'test/fixtures/{dates,representation}.test.ts',
  'test/reports/{html-kit,start-well,target-lists}.test.ts',
  'test/pipelines/{definition,athena,local-runner-cli,runtime}.test.ts',
  'test/privacy/{extract,large-partnership-names}.test.ts',
  'test/tables/**/*.test.ts',
  'test/house/**/*.test.ts',
];
/** Under test/matching/ but not pure: the generated partnership population through the stages, and the accuracy floors (worker threads, 30 s). */
const NOT_UNIT = new Set(['test/matching/partnership.test.ts', 'test/matching/benchmarks.test.ts']);

const unitFiles = globSync(UNIT, { cwd: import.meta.dirname })
  .filter((f) => !NOT_UNIT.has(f))
  .sort();
const e2eFiles = globSync('test/**/*.test.ts', { cwd: import.meta.dirname })
  .filter((f) => !unitFiles.includes(f))
  .sort();

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      { extends: true, test: { name: 'unit', include: unitFiles } },
      { extends: true, test: { name: 'e2e', include: e2eFiles } },
    ],
  },
});
