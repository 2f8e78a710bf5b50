/**
 * "Already done" is verified and a killed run resumes, on the real pipeline over the committed sample:
 *  - a finished run is skipped only while every output matches the SHA-256 its manifest recorded; a corrupted or
 *    deleted output re-runs the stage that wrote it (and what depends on what changed), says so, and ends with the
 *    same bytes as a clean run;
 *  - a run that dies in any stage (an injected throw after the stage wrote its outputs, before it was recorded;
 *    a real `kill -9` of the CLI) re-runs from that stage, reusing the stages before it, with the same bytes.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSummary } from '../../pipelines/cli/commands/run.ts';
import { CURATED_TABLES } from '../../pipelines/layout.ts';
import { runLocal, type LocalRunResult } from '../../pipelines/local/runner.ts';
import { silentLog } from '../../pipelines/log.ts';
import type { StageContext } from '../../pipelines/stages/context.ts';
import { loadStage, PIPELINE_STAGE_NAMES } from '../../pipelines/stages/index.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const LANDING = join(ROOT, 'fixtures/samples/small/landing');
const AS_AT = '2026-10-31';
let dir: string;
let clean: Map<string, string>;

/** Every file under an out dir with its SHA-256, through the published link; what carries timings left out. */
async function files(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      // keys/: the ref pseudonym key, made once per secure zone (a secret, not an output of any run)
      // run_manifests/: the manifest as one JSON line (timings)
      if (['_releases', '_runs', '_scratch', '_locks', 'keys', 'run_manifests'].includes(e.name)) continue;
      if (e.isDirectory() || e.isSymbolicLink()) await walk(p);
      else if (!['manifest.json', '_CURRENT.json'].includes(e.name))
        out.set(
          relative(root, p),
          createHash('sha256')
            .update(await readFile(p))
            .digest('hex'),
        );
    }
  };
  await walk(root);
  return out;
}

/** The files whose bytes differ (or that only one side has), as one line for a readable failure. */
const differences = (a: Map<string, string>, b: Map<string, string>) =>
  [...new Set([...a.keys(), ...b.keys()])]
    .filter((k) => a.get(k) !== b.get(k))
    .sort()
    .join(', ');

const run = (out: string, extra: Partial<Parameters<typeof runLocal>[0]> = {}) =>
  runLocal({
    landing: LANDING,
    out,
    asAt: AS_AT,
    log: silentLog,
    retryDelayMs: 0,
    shardWorkers: 0,
    mapConcurrency: 1,
    ...extra,
  });
// mapConcurrency 1: a failed validate feed ends the run while no other feed is still being validated

/** name: 'skipped' | 'ran again' | 'ran' (no note: first time) for each stage of a run. */
function whatRan(r: LocalRunResult): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of r.manifest!.stages) {
    out[s.name] =
      s.status !== 'ok'
        ? s.status
        : !s.resume
          ? 'ran'
          : s.resume.reran === 0
            ? 'skipped'
            : s.resume.reused === 0
              ? 'ran again'
              : 'partly';
  }
  return out;
}

const expectRan = (r: LocalRunResult, from: string) => {
  const at = PIPELINE_STAGE_NAMES.indexOf(from as (typeof PIPELINE_STAGE_NAMES)[number]);
  const got = whatRan(r);
  for (const [i, s] of PIPELINE_STAGE_NAMES.entries()) {
    if (i < at) expect(got[s], `${s} before ${from}`).toBe('skipped');
    else if (i === at) expect(['ran again', 'partly'], `${s}`).toContain(got[s]);
  }
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'locality-resume-'));
  const a = await run(join(dir, 'clean'));
  expect(a.status).toBe('ok');
  clean = await files(join(dir, 'clean'));
}, 300_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('"already done" is verified against the SHA-256 of every output', () => {
  it('a corrupted, truncated or deleted output re-runs the stage that wrote it, says so, and ends byte-identical to a clean run', async () => {
    const out = join(dir, 'verified');
    expect((await run(out)).status).toBe('ok');
    const skipped = await run(out);
    expect(skipped.status).toBe('skipped');
    expect(formatSummary(skipped)).toMatch(/already done .* (\d+) outputs verified against the manifest's SHA-256/);
    expect(skipped.manifest!.outputs!.length).toBeGreaterThan(50);
    // every object the run left is in the manifest's outputs (but the manifest and release marker)
    const recorded = new Set(skipped.manifest!.outputs!.map((o) => `${o.zone}/${o.key}`));
    expect([...clean.keys()].filter((k) => !recorded.has(k))).toEqual([]);

    const writerOf: Record<string, string> = {
      records: 'standardise',
      facts: 'standardise',
      relationships: 'standardise',
      pairs: 'match',
      links: 'match',
      persons: 'match',
      families: 'families',
      family_members: 'families',
      scores: 'stratify',
    };
    const secureFeed = skipped.manifest!.outputs!.find(
      (o) => o.zone === 'secure' && o.key.includes('/validated/') && o.key.endsWith('.parquet'),
    )!.key;
    const faults: Array<{ what: string; path: string; damage: (p: string) => Promise<void>; stage: string }> = [
      ...CURATED_TABLES.map((t) => ({
        what: `curated ${t} corrupted in place`,
        path: `curated/${t}/as_at=${AS_AT}/part-00000.parquet`,
        stage: writerOf[t]!,
        damage: async (p: string) => {
          const b = await readFile(p);
          b[Math.floor(b.length / 2)]! ^= 0xff;
          await writeFile(p, b);
        },
      })),
      {
        what: 'validated extract truncated',
        path: `secure/${secureFeed}`,
        stage: 'validate',
        damage: (p) => truncate(p, 10),
      },
      {
        what: 'secure person records deleted',
        path: `secure/as_at=${AS_AT}/person-records.parquet`,
        stage: 'standardise',
        damage: (p) => rm(p),
      },
      {
        what: 'published list edited',
        path: `outputs/as_at=${AS_AT}/target-lists/index.html`,
        stage: 'publish',
        damage: async (p) => writeFile(p, `${await readFile(p, 'utf8')}<!-- edited -->`),
      },
      {
        what: 'published report deleted',
        path: `outputs/as_at=${AS_AT}/start-well/report.html`,
        stage: 'publish',
        damage: (p) => rm(p),
      },
    ];
    for (const f of faults) {
      await f.damage(join(out, f.path));
      const r = await run(out);
      expect(r.status, f.what).toBe('ok');
      const m = r.manifest!;
      const said = [...m.redoneBecause!.missing, ...m.redoneBecause!.changed];
      expect(said, f.what).toContain(f.path);
      expect(formatSummary(r), f.what).toContain(`its outputs no longer matched its manifest: ${f.path}`);
      expectRan(r, f.stage);
      expect(differences(await files(out), clean), f.what).toBe('');
      expect((await run(out)).status, `${f.what}: verified again`).toBe('skipped');
    }
  }, 900_000);
});

describe('resume, not redo', () => {
  it('a run that dies in any stage re-runs from that stage, reusing the ones before it, with the same bytes', async () => {
    const out = join(dir, 'resume');
    // each stage in turn dies after writing its outputs (before its record): a kill between the two
    for (const dying of PIPELINE_STAGE_NAMES) {
      let armed = true;
      const loader = async (name: string) => {
        const entry = await loadStage(name);
        if (name !== dying) return entry;
        return {
          ...entry,
          run: async (ctx: StageContext, input: unknown) => {
            const r = await entry.run(ctx, input);
            if (armed) {
              armed = false;
              throw new Error(`injected: killed in ${name}`);
            }
            return r;
          },
        };
      };
      const died = await run(out, { loadStage: loader });
      expect(died.status, dying).toBe('failed');
      expect(died.error!.stage).toBe(dying);
      // the published folder holds no partial set
      expect(existsSync(join(out, 'outputs', `as_at=${AS_AT}`, 'target-lists')), dying).toBe(false);
    }
    const done = await run(out);
    expect(done.status).toBe('ok');
    // the last death was in publish: every stage before it is reused, publish ran again
    expectRan(done, 'publish');
    expect(formatSummary(done)).toContain('resumed from the stage records of an earlier execution of this run');
    expect(differences(await files(out), clean)).toBe('');
  }, 900_000);

  it('each death resumes at the stage that died', async () => {
    for (const dying of ['standardise', 'families'] as const) {
      const out = join(dir, `resume-${dying}`);
      let armed = true;
      const loader = async (name: string) => {
        const entry = await loadStage(name);
        return name !== dying
          ? entry
          : {
              ...entry,
              run: async (ctx: StageContext, input: unknown) => {
                if (armed) {
                  armed = false;
                  throw new Error(`injected: killed in ${name}`);
                }
                return entry.run(ctx, input);
              },
            };
      };
      expect((await run(out, { loadStage: loader })).status).toBe('failed');
      const again = await run(out);
      expect(again.status).toBe('ok');
      expectRan(again, dying);
      const ran = whatRan(again);
      for (const s of PIPELINE_STAGE_NAMES.slice(PIPELINE_STAGE_NAMES.indexOf(dying) + 1))
        expect(ran[s], s).toBe('ran again');
      expect(differences(await files(out), clean)).toBe('');
    }
  }, 900_000);

  it('kill -9 of the CLI in the match stage: the next run reuses validate and standardise and ends with the same bytes', async () => {
    const out = join(dir, 'killed');
    const child = spawn(
      process.execPath,
      [join(ROOT, 'bin/locality.mjs'), 'run', '--landing', LANDING, '--out', out, '--as-at', AS_AT],
      { stdio: 'ignore', env: { ...process.env } },
    );
    const records = join(out, 'outputs', '_runs', `as_at=${AS_AT}`);
    const matchStarted = async () => {
      const runs = await readdir(records).catch(() => [] as string[]);
      for (const r of runs)
        if ((await readdir(join(records, r, 'stages', 'match')).catch(() => [])).length > 0) return true;
      return false;
    };
    const deadline = Date.now() + 240_000;
    while (!(await matchStarted())) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error('the run never reached the match stage');
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(existsSync(join(out, 'outputs', `as_at=${AS_AT}`))).toBe(false);
    const again = await run(out);
    expect(again.status).toBe('ok');
    const ran = whatRan(again);
    expect(ran.validate).toBe('skipped');
    expect(ran.standardise).toBe('skipped');
    expect(differences(await files(out), clean)).toBe('');
    // the killed process's scratch was swept
    expect(await readdir(join(out, 'secure', '_scratch')).catch(() => [])).toEqual([]);
  }, 600_000);
});
