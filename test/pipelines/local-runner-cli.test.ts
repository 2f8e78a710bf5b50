import { describe, expect, it } from 'vitest';
import { backfillCommand } from '../../pipelines/cli/commands/backfill.ts';
import { formatSummary, resolveAsAt, runCommand } from '../../pipelines/cli/commands/run.ts';
import { join } from 'node:path';

const SAMPLE = join(import.meta.dirname, '../../fixtures/samples/small/landing');

describe('run / backfill commands: arguments', () => {
  it('defaults the as-at date to the latest extract in landing, and checks a given one', async () => {
    expect(await resolveAsAt(SAMPLE, undefined)).toBe('2026-10-31');
    await expect(resolveAsAt(SAMPLE, '2026-13-01')).rejects.toThrow(
      '--as-at 2026-13-01: must be a real date YYYY-MM-DD',
    );
    await expect(resolveAsAt('/nonexistent', undefined)).rejects.toThrow('no extracts found');
  });

  it('refuses a missing landing directory, a bad period and a cloud backfill without its ARN', async () => {
    await expect(runCommand({ landing: '/nonexistent/landing', out: '/tmp/x' })).rejects.toThrow(
      '--landing /nonexistent/landing: no such directory',
    );
    await expect(backfillCommand({ from: '2026-01-01', to: '2026-03-31', every: 'fortnight' })).rejects.toThrow(
      '--every fortnight: must be one of month, week',
    );
    await expect(
      backfillCommand({ from: '2026-01-01', to: '2026-03-31', every: 'month', cloud: true }),
    ).rejects.toThrow('--cloud needs --state-machine-arn');
    await expect(backfillCommand({ from: '2026-01-01', to: '2026-03-31', every: 'month' })).rejects.toThrow(
      'needs --landing <dir> and --out <dir>',
    );
    await expect(
      backfillCommand({ from: '2026-01-02', to: '2026-01-20', every: 'month', landing: SAMPLE, out: '/tmp/x' }),
    ).rejects.toThrow('nothing to backfill');
  });

  it('the summary lists counts and timings per stage, the failure and how to resume, and the report paths', () => {
    const text = formatSummary({
      runId: '2026-10-31-abcdefabcdef',
      asAt: '2026-10-31',
      status: 'failed',
      outRoot: '/tmp/run',
      manifestPath: '/tmp/run/outputs/as_at=2026-10-31/manifest.json',
      missingStages: [],
      notifications: [],
      error: { stage: 'match', error: 'Error', cause: 'match: too many pairs' },
      manifest: {
        manifestVersion: 1,
        runId: '2026-10-31-abcdefabcdef',
        asAt: '2026-10-31',
        status: 'failed',
        startedAt: 'x',
        ranBy: 'os-user:e',
        codeVersion: 'git:1',
        config: { version: 'default', sha256: 'c1a771a26046ffff', value: {} },
        ruleSetVersion: 'sf@1',
        inputs: [
          {
            key: 'k',
            source: 's',
            feed: 'f',
            extractDate: '2026-10-31',
            sha256: 'h',
            bytes: 1,
            rows: 10,
            accepted: 9,
            quarantined: 1,
          },
        ],
        stages: [
          { name: 'validate', status: 'ok', items: 14, counts: { rows: 10, accepted: 9 }, durationMs: 1500 },
          { name: 'match', status: 'failed', counts: {} },
        ],
      },
    });
    expect(text).toContain('as-at 2026-10-31: run 2026-10-31-abcdefabcdef FAILED');
    expect(text).toMatch(/validate\s+ok\s+1\.5s\s+feeds=14 rows=10 accepted=9/);
    expect(text).toContain('inputs: 1 files, 10 rows; config default (c1a771a26046); rule set sf@1');
    expect(text).toContain('failed in match: Error: match: too many pairs');
    expect(text).toContain('run the same command again');
    for (const label of ['target lists', 'Start Well report', 'match audit report', 'manifest'])
      expect(text).toContain(label);
  });
});
