/**
 * Crash safety of the real pipeline on the committed sample: temporary files holding clear values live only in the
 * secure zone's scratch (never the system temp dir), are removed on success and on failure, and what a killed run
 * leaves there is swept at the next start.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObjectStore } from '../../pipelines/io/object-store.ts';
import { runLocal } from '../../pipelines/local/runner.ts';
import { silentLog } from '../../pipelines/log.ts';
import type { StageContext } from '../../pipelines/stages/context.ts';
import { loadStage } from '../../pipelines/stages/index.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const LANDING = join(ROOT, 'fixtures/samples/small/landing');
const AS_AT = '2026-10-31';
let dir: string;
let systemTmp: string;
let savedTmp: string | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'locality-crash-'));
  systemTmp = join(dir, 'system-tmp');
  await rm(systemTmp, { recursive: true, force: true });
  await import('node:fs/promises').then((fs) => fs.mkdir(systemTmp));
  savedTmp = process.env.TMPDIR;
  process.env.TMPDIR = systemTmp; // os.tmpdir() now answers this folder: anything our code puts there is seen
});
afterAll(async () => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  await rm(dir, { recursive: true, force: true });
});

/** What our code left in the system temp dir (tsx's own transform cache aside). */
const leftInSystemTmp = async () => (await readdir(systemTmp)).filter((n) => !n.startsWith('tsx-'));
const scratchOf = (out: string) => readdir(join(out, 'secure', '_scratch')).catch(() => [] as string[]);

/** Stage `name` writes through a curated store whose disk is full from its first put. */
function fullDiskIn(name: string) {
  return async (stage: string) => {
    const entry = await loadStage(stage);
    if (stage !== name) return entry;
    return {
      ...entry,
      run: (ctx: StageContext, input: unknown) => {
        const curated = ctx.stores.curated;
        const full: ObjectStore = Object.assign(
          Object.create(Object.getPrototypeOf(curated) as object) as ObjectStore,
          curated,
          {
            put: async () => {
              throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
            },
          },
        );
        return entry.run({ ...ctx, stores: { ...ctx.stores, curated: full } }, input);
      },
    };
  };
}

describe('crash safety (the real pipeline on the sample)', () => {
  it('a full disk in match fails the run and leaves no temp file anywhere; the next run completes, also leaving none', async () => {
    const out = join(dir, 'full-disk');
    const failed = await runLocal({
      landing: LANDING,
      out,
      asAt: AS_AT,
      log: silentLog,
      loadStage: fullDiskIn('match'),
      retryDelayMs: 0,
    });
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ stage: 'match' });
    expect(failed.error!.cause).toContain('ENOSPC');
    expect(await leftInSystemTmp()).toEqual([]);
    expect(await scratchOf(out)).toEqual([]);
    const again = await runLocal({ landing: LANDING, out, asAt: AS_AT, log: silentLog });
    expect(again.status).toBe('ok');
    expect(await leftInSystemTmp()).toEqual([]);
    expect(await scratchOf(out)).toEqual([]);
  }, 300_000);

  it('one feed fails validate while another is still validating: the run waits for it, then leaves no temp file', async () => {
    const out = join(dir, 'feed-fails');
    let failing: string | undefined;
    let slow: string | undefined;
    let slowFinishedAt = 0;
    const oneFeedFails = async (stage: string) => {
      const entry = await loadStage(stage);
      if (stage !== 'validate') return entry;
      return {
        ...entry,
        run: async (ctx: StageContext, input: unknown) => {
          const feed = JSON.stringify(input);
          failing ??= feed;
          if (feed === failing) throw new Error('injected: this feed cannot be read');
          slow ??= feed;
          if (feed !== slow) return entry.run(ctx, input);
          // the sibling feed is still at work (and writing) well after the other feed failed
          await new Promise((r) => setTimeout(r, 1_500));
          const result = await entry.run(ctx, input);
          slowFinishedAt = Date.now();
          return result;
        },
      };
    };
    const failed = await runLocal({
      landing: LANDING,
      out,
      asAt: AS_AT,
      log: silentLog,
      loadStage: oneFeedFails,
      retryDelayMs: 0,
      mapConcurrency: 2,
    });
    const returnedAt = Date.now();
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ stage: 'validate' });
    expect(slowFinishedAt, 'the sibling feed finished before the run reported').toBeGreaterThan(0);
    expect(slowFinishedAt).toBeLessThanOrEqual(returnedAt);
    expect(await leftInSystemTmp()).toEqual([]);
    expect(await scratchOf(out)).toEqual([]);
  }, 300_000);

  it('kill -9 mid-run: what the killed run had in scratch is inside the secure zone, and the next run sweeps it', async () => {
    const out = join(dir, 'killed');
    // node itself (not the tsx launcher, whose child would live on): the killed process is the one doing the work
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'pipelines/cli/main.ts', 'run', '--landing', LANDING, '--out', out, '--as-at', AS_AT],
      {
        cwd: ROOT,
        env: { ...process.env, TMPDIR: systemTmp },
        stdio: 'ignore',
      },
    );
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    // wait until the run has a DuckDB (or validate) temp folder in its scratch, then kill it hard
    let killedWith: string[] = [];
    for (let i = 0; i < 1200 && killedWith.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      for (const p of await scratchOf(out)) {
        const inside = await readdir(join(out, 'secure', '_scratch', p)).catch(() => [] as string[]);
        if (inside.some((n) => n.startsWith('locality-'))) killedWith = [p];
      }
    }
    child.kill('SIGKILL');
    await exited;
    expect(killedWith.length, 'the run made a scratch folder before it was killed').toBe(1);
    expect(await scratchOf(out)).toEqual(killedWith);
    expect(await leftInSystemTmp()).toEqual([]);
    const again = await runLocal({ landing: LANDING, out, asAt: AS_AT, log: silentLog });
    expect(again.status).toBe('ok');
    expect(await scratchOf(out)).toEqual([]);
    expect(await leftInSystemTmp()).toEqual([]);
  }, 300_000);
});
