/**
 * Strict run configuration: an unknown key anywhere in the config (root, validate, linkage, families, stratify,
 * publish.disclosure, ...) is an error naming its path and the nearest valid key, raised before any stage runs, at
 * every entry point (run, start, backfill local and cloud, the Prepare state, the backfill plan), with nothing
 * written and a non-zero exit code.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planBackfill } from '../../pipelines/backfill/periods.ts';
import { backfillCommand } from '../../pipelines/cli/commands/backfill.ts';
import { runCommand } from '../../pipelines/cli/commands/run.ts';
import { startCommand } from '../../pipelines/cli/commands/start.ts';
import { keysAt, suggestKey } from '../../pipelines/config-errors.ts';
import { defaultRunConfig, loadRunConfig, parseRunConfig, runConfigSchema } from '../../pipelines/config.ts';
import { LocalObjectStore } from '../../pipelines/io/local-object-store.ts';
import type { Zone } from '../../pipelines/layout.ts';
import { silentLog } from '../../pipelines/log.ts';
import { prepareRun } from '../../pipelines/manifest.ts';

const SAMPLE = join(import.meta.dirname, '../../fixtures/samples/small/landing');
let dir: string;
const TYPOS = {
  publsh: {},
  linkage: { thresholdProbabilty: 0.9 },
  publish: { disclosure: { suppresMax: 5 } },
};
let bad: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'config-strict-'));
  bad = join(dir, 'bad.json');
  await writeFile(bad, JSON.stringify(TYPOS));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const EXPECTED = [
  /unknown key "publsh": did you mean "publish"\?/,
  /unknown key "thresholdProbabilty": did you mean "thresholdProbability"\?\n\s+→ at linkage/,
  /unknown key "suppresMax": did you mean "suppressMax"\?\n\s+→ at publish\.disclosure/,
];

function expectAllNamed(message: string): void {
  for (const e of EXPECTED) expect(message).toMatch(e);
}

describe('the run config is parsed strictly', () => {
  it('names every unknown key, at every level, with its path and the nearest valid key', () => {
    let message = '';
    try {
      parseRunConfig(
        {
          ...TYPOS,
          validate: { exactDuplicate: 'keep' },
          families: { adultAg: 18 },
          stratify: { localities: { unasigned: 'x' } },
          configVersion: 'v1',
        },
        'config c.json',
      );
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^config c\.json is not a valid run config \(nothing was run\):\n/);
    expectAllNamed(message);
    expect(message).toMatch(/unknown key "exactDuplicate": did you mean "exactDuplicates"\?\n\s+→ at validate/);
    expect(message).toMatch(/unknown key "adultAg": did you mean "adultAge"\?\n\s+→ at families/);
    expect(message).toMatch(/unknown key "unasigned": did you mean "unassigned"\?\n\s+→ at stratify\.localities/);
    expect(message.match(/✖/g)).toHaveLength(6);
  });

  it('suggests only a near key, else lists the valid ones; knows nested linkage settings', () => {
    expect(suggestKey('zzzzzz', ['publish', 'linkage'])).toBe('valid keys here: "publish", "linkage"');
    expect(keysAt(runConfigSchema, [])).toEqual([
      'configVersion',
      'families',
      'linkage',
      'publish',
      'sharding',
      'stratify',
      'validate',
    ]);
    expect(() =>
      parseRunConfig(
        { linkage: { settings: { comparisons: [{ column: 'a', type: 'exact', nmae: 'x' }], blockingRules: [['a']] } } },
        'c',
      ),
    ).toThrow(/unknown key "nmae": did you mean "name"\?\n\s+→ at linkage\.settings\.comparisons\[0\]/);
    expect(() => parseRunConfig({ linkage: { thresholdProbability: 0.9, thresholdWeight: 3 } }, 'c')).toThrow(
      /give thresholdProbability or thresholdWeight, not both/,
    );
  });

  it('accepts every documented key, and the defaults', () => {
    const full = {
      configVersion: 'x',
      validate: { exactDuplicates: 'keep', onRejectedFile: 'fail' },
      linkage: {
        thresholdProbability: 0.8,
        pairsMinProbability: 0.01,
        reviewSample: 10,
        workers: 0,
        labelledPairs: false,
      },
      families: { adultAge: 18 },
      stratify: { threeNeedsMinHeadlines: 3 },
      publish: {
        disclosure: { suppressMin: 1, suppressMax: 5, roundTo: 5, secondary: true },
        lateBookingWeeks: 12,
        // the documented leads' outcomes and Supporting Families settings (publish.outcomes was refused before)
        outcomes: { suppressMonths: 3 },
        supportingFamilies: { sustainMonths: 6, claimMinHeadlines: 3 },
      },
    };
    expect(parseRunConfig(full, 'c').linkage).toEqual(full.linkage);
    expect(defaultRunConfig().validate).toEqual({ exactDuplicates: 'quarantine', onRejectedFile: 'continue' });
  });
});

describe('every entry point refuses a bad config before anything runs', () => {
  it('run, start and backfill (local and cloud) throw, writing nothing', async () => {
    const out = join(dir, 'out');
    for (const attempt of [
      () => runCommand({ landing: SAMPLE, out, config: bad }),
      () => startCommand({ out, families: '5', seed: 's', asAt: '2026-03-31', config: bad }),
      () =>
        backfillCommand({ from: '2026-01-01', to: '2026-03-31', every: 'month', landing: SAMPLE, out, config: bad }),
      () =>
        backfillCommand({
          from: '2026-01-01',
          to: '2026-03-31',
          every: 'month',
          cloud: true,
          stateMachineArn: 'arn:aws:states:eu-west-2:000000000000:stateMachine:x',
          config: bad,
        }),
    ]) {
      let message = '';
      await attempt().catch((err: Error) => {
        message = err.message;
      });
      expectAllNamed(message);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('the Prepare state fails at once (no manifest), and so does the backfill plan', async () => {
    const root = join(dir, 'prepare');
    const stores = Object.fromEntries(
      (['landing', 'secure', 'curated', 'outputs'] as Zone[]).map((z) => [z, new LocalObjectStore(join(root, z))]),
    ) as Record<Zone, LocalObjectStore>;
    stores.landing = new LocalObjectStore(SAMPLE);
    let message = '';
    await prepareRun({ stores, log: silentLog }, { asAt: '2026-10-31', config: TYPOS }).catch((err: Error) => {
      message = err.message;
    });
    expect(message).toMatch(/^run request config is not a valid run config/);
    expectAllNamed(message);
    expect(existsSync(join(root, 'outputs')) ? await readdir(join(root, 'outputs')) : []).toEqual([]);
    expect(() =>
      planBackfill({ from: '2026-01-01', to: '2026-03-31', every: 'month', force: false, config: TYPOS }),
    ).toThrow(/unknown key "publsh"/);
    expect(
      planBackfill({ from: '2026-01-01', to: '2026-02-28', every: 'month', force: false }).periods.map((p) => p.config),
    ).toEqual([{}, {}]);
  });

  it('the CLI exits non-zero with the message on stderr, nothing on stdout', async () => {
    const out = join(dir, 'cli-out');
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'pipelines/cli/main.ts', 'run', '--landing', SAMPLE, '--out', out, '--config', bad],
      { cwd: join(import.meta.dirname, '../..'), encoding: 'utf8' },
    );
    expect(r.status).toBe(1);
    expectAllNamed(r.stderr);
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
    await expect(loadRunConfig(join(dir, 'missing.json'))).rejects.toThrow(/cannot read as JSON/);
  }, 60_000);
});
