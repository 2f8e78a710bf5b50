import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formatSummary } from '../../pipelines/cli/commands/run.ts';
import type { PlannedStage } from '../../pipelines/definition.ts';
import { keys } from '../../pipelines/layout.ts';
import { runLocal } from '../../pipelines/local/runner.ts';
import { silentLog } from '../../pipelines/log.ts';
import { defineStage, type StageEntry } from '../../pipelines/stages/index.ts';

const PLAN: PlannedStage[] = [{ name: 'work', kind: 'task' }];
let dir: string;
let landing: string;
let out: string;
let release: () => void = () => {};
let started: Promise<void>;
let markStarted: () => void = () => {};

const work = defineStage('work', z.object({}).loose(), async (ctx) => {
  markStarted();
  await new Promise<void>((r) => (release = r));
  // written where a real stage writes (the published folder belongs to the release: publish stages, Finalise promotes)
  await ctx.stores.curated.put(`work/as_at=${ctx.asAt}/work.json`, '{}');
  return { counts: { done: 1 } };
}) as StageEntry<unknown>;
const loadStage = async () => work;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'locality-lock-'));
  landing = join(dir, 'landing');
  out = join(dir, 'out');
  for (const d of ['2026-01-31', '2026-02-28']) {
    await mkdir(join(landing, 'schools/pupils', `dt=${d}`), { recursive: true });
    await writeFile(join(landing, 'schools/pupils', `dt=${d}`, 'pupils.csv'), 'person_ref\nA\n');
  }
  started = new Promise<void>((r) => (markStarted = r));
});
afterEach(async () => {
  release();
  await rm(dir, { recursive: true, force: true });
});

const run = (asAt: string) => runLocal({ landing, out, asAt, plan: PLAN, loadStage, log: silentLog, retryDelayMs: 0 });

describe('local run lock (one run per out dir and as-at date)', () => {
  it('a second run of the same date is refused, naming the holder (pid, host, start time); other dates run', async () => {
    const first = run('2026-02-28');
    await started;
    const second = await run('2026-02-28');
    expect(second.status).toBe('locked');
    expect(second.lockedBy).toMatchObject({ pid: process.pid, host: hostname(), asAt: '2026-02-28' });
    const text = formatSummary(second);
    expect(text).toContain(`process ${process.pid} on host ${hostname()}`);
    expect(text).toContain(`running since ${second.lockedBy!.acquiredAt}`);
    expect(text).toMatch(
      /stale, and the next run takes it, once that process has exited \(same host\) or after 12 hours/,
    );
    // the refused run did not touch the holder's manifest
    const last = JSON.parse(await readFile(join(out, 'outputs', keys.lastRun('2026-02-28')), 'utf8')) as {
      runId: string;
    };
    const m = JSON.parse(await readFile(join(out, 'outputs', keys.runManifest('2026-02-28', last.runId)), 'utf8')) as {
      status: string;
    };
    expect(m.status).toBe('running');
    // another as-at date is another lock
    started = new Promise<void>((r) => (markStarted = r));
    const releaseFirst = release;
    const other = run('2026-01-31');
    await started;
    release();
    expect((await other).status).toBe('ok');
    releaseFirst();
    expect((await first).status).toBe('ok');
    // released: the next run of the date takes the lock again. 2026-01-31 finished meanwhile and a run's id includes
    // its previous run (the change since the last list depends on it), so this is a new run; the one after is done.
    started = new Promise<void>((r) => (markStarted = r));
    const next = run('2026-02-28');
    await started;
    release();
    expect((await next).status).toBe('ok');
    expect((await run('2026-02-28')).status).toBe('skipped');
  });

  it('a lock whose process has exited is stale: the next run supersedes it', async () => {
    const deadPid = Number(
      execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).toString(),
    );
    const lock = {
      asAt: '2026-02-28',
      execution: 'local:killed',
      ranBy: 'os-user:someone',
      acquiredAt: new Date().toISOString(),
      host: hostname(),
      pid: deadPid,
    };
    await mkdir(join(out, 'outputs', '_locks', 'as_at=2026-02-28'), { recursive: true });
    await writeFile(join(out, 'outputs', keys.runLock('2026-02-28', 1)), `${JSON.stringify(lock)}\n`);
    const r = run('2026-02-28');
    await started;
    release();
    expect((await r).status).toBe('ok');
  });
});
