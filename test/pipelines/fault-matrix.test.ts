/**
 * The fault matrix, on the real pipeline over the committed sample: a date already released (set A), then a new
 * delivery (one more extract: run B) hit by a fault at every stage: killed (a throw after the stage wrote its
 * outputs), a full disk (ENOSPC from the store), a read-only out dir (EROFS from the store). After each fault the
 * published folder `outputs/as_at=D` holds set A byte for byte, and the run's manifest and summary say which stage
 * failed and why. The next clean run of B resumes, is released, and its set is byte-identical to a clean run of B;
 * a corrupted table after that re-runs its stage and leaves set B again.
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSummary } from '../../pipelines/cli/commands/run.ts';
import { LocalObjectStore } from '../../pipelines/io/local-object-store.ts';
import type { ObjectStore } from '../../pipelines/io/object-store.ts';
import { runLocal, type LocalRunResult } from '../../pipelines/local/runner.ts';
import { silentLog } from '../../pipelines/log.ts';
import { readReleasedSet } from '../../pipelines/release/promote.ts';
import type { StageContext } from '../../pipelines/stages/context.ts';
import { loadStage, PIPELINE_STAGE_NAMES } from '../../pipelines/stages/index.ts';

const SAMPLE = join(import.meta.dirname, '../../fixtures/samples/small/landing');
const AS_AT = '2026-10-31';
let dir: string;
let landingA: string;
let landingB: string;
let setA: Map<string, string>;
let setB: Map<string, string>;

/** The published set for the date as a reader sees it (marker first, every file checked): name -> SHA-256. */
async function published(out: string, withManifest = true): Promise<{ runId: string; files: Map<string, string> }> {
  const set = await readReleasedSet(new LocalObjectStore(join(out, 'outputs')), AS_AT);
  if (set.state !== 'live') throw new Error(`no live set for ${AS_AT} in ${out} (${set.state})`);
  const files = new Map<string, string>();
  for (const [name, body] of set.files)
    if (withManifest || name !== 'manifest.json') files.set(name, createHash('sha256').update(body).digest('hex'));
  return { runId: set.marker.runId, files };
}

const same = (a: Map<string, string>, b: Map<string, string>) =>
  [...new Set([...a.keys(), ...b.keys()])]
    .filter((k) => a.get(k) !== b.get(k))
    .sort()
    .join(', ');

const run = (landing: string, out: string, loadStageOf?: Parameters<typeof runLocal>[0]['loadStage']) =>
  runLocal({
    landing,
    out,
    asAt: AS_AT,
    log: silentLog,
    retryDelayMs: 0,
    shardWorkers: 0,
    mapConcurrency: 1,
    ...(loadStageOf ? { loadStage: loadStageOf } : {}),
  });

type Fault = {
  name: string;
  stage: string;
  inject: (entry: Awaited<ReturnType<typeof loadStage>>) => Awaited<ReturnType<typeof loadStage>>;
  says: RegExp;
};

/** Every write of the stage's stores fails with `code` (a full disk, a read-only file system). */
function failingWrites(code: 'ENOSPC' | 'EROFS') {
  return (entry: Awaited<ReturnType<typeof loadStage>>) => ({
    ...entry,
    run: (ctx: StageContext, input: unknown) => {
      const broken = (s: ObjectStore): ObjectStore => {
        const w = Object.create(s) as ObjectStore & Record<string, unknown>;
        w.put = async () => {
          throw Object.assign(
            new Error(`${code}: ${code === 'ENOSPC' ? 'no space left on device' : 'read-only file system'}, write`),
            { code },
          );
        };
        return w;
      };
      return entry.run(
        { ...ctx, stores: { ...ctx.stores, secure: broken(ctx.stores.secure), curated: broken(ctx.stores.curated) } },
        input,
      );
    },
  });
}

const killedAfterWrites = (entry: Awaited<ReturnType<typeof loadStage>>) => ({
  ...entry,
  run: async (ctx: StageContext, input: unknown) => {
    await entry.run(ctx, input);
    throw new Error(`injected: killed in ${entry.name} after its writes`);
  },
});

/**
 * In stage order: each fault hits the first invocation of its stage that runs (the stages before it are reused
 * from the executions before, so each execution of B gets one stage further).
 */
const FAULTS: Fault[] = PIPELINE_STAGE_NAMES.flatMap((stage): Fault[] => [
  ...(stage === 'validate' || stage === 'families'
    ? [{ name: `read-only out dir in ${stage}`, stage, inject: failingWrites('EROFS'), says: /EROFS/ }]
    : []),
  ...(stage === 'standardise' || stage === 'publish'
    ? [{ name: `full disk in ${stage}`, stage, inject: failingWrites('ENOSPC'), says: /ENOSPC/ }]
    : []),
  { name: `killed in ${stage}`, stage, inject: killedAfterWrites, says: /injected: killed in/ },
]);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'locality-faults-'));
  landingA = join(dir, 'landing-a');
  landingB = join(dir, 'landing-b');
  await cp(SAMPLE, landingA, { recursive: true });
  await cp(SAMPLE, landingB, { recursive: true });
  // the new delivery: one more incidents extract for the date
  const extra = join(landingB, 'police/incidents/dt=2026-10-31/incidents-late.csv');
  const lines = (await readFile(join(SAMPLE, 'police/incidents/dt=2026-10-31/incidents.csv'), 'utf8'))
    .trim()
    .split('\n');
  await mkdir(join(landingB, 'police/incidents/dt=2026-10-31'), { recursive: true });
  await writeFile(extra, `${lines[0]}\n${lines[1]!.replace(/^PIR\d+/, 'PIR99990001')}\n`);
  const cleanB = await run(landingB, join(dir, 'clean-b'));
  expect(cleanB.status).toBe('ok');
  setB = (await published(join(dir, 'clean-b'), false)).files;
}, 600_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('fault matrix: every fault leaves the old complete set or the new complete set', () => {
  it('each fault in run B leaves set A published and says what failed; the next run releases set B, byte-identical to a clean run', async () => {
    const out = join(dir, 'out');
    const a = await run(landingA, out);
    expect(a.status).toBe('ok');
    const before = await published(out);
    expect(before.runId).toBe(a.runId);
    setA = before.files;

    const outcomes: string[] = [];
    let b: LocalRunResult | undefined;
    for (const f of FAULTS) {
      // armed until the stage's first invocation that actually runs (a reused one is loaded but not run)
      let armed = true;
      const loader = async (name: string) => {
        const entry = await loadStage(name);
        if (name !== f.stage) return entry;
        const faulty = f.inject(entry);
        return {
          ...entry,
          run: (ctx: StageContext, input: unknown) => {
            if (!armed) return entry.run(ctx, input);
            armed = false;
            return faulty.run(ctx, input);
          },
        };
      };
      b = await run(landingB, out, loader);
      expect(b.status, f.name).toBe('failed');
      expect(b.runId, f.name).not.toBe(a.runId);
      expect(b.error?.stage, f.name).toBe(f.stage);
      expect(`${b.error?.error}: ${b.error?.cause}`, f.name).toMatch(f.says);
      expect(b.manifest?.status, f.name).toBe('failed');
      expect(b.manifest?.release?.state, f.name).toBe('not-released');
      expect(formatSummary(b), f.name).toContain(`failed in ${f.stage}`);
      // the published folder: set A, byte for byte (its manifest too)
      const now = await published(out);
      expect(now.runId, f.name).toBe(a.runId);
      expect(same(now.files, setA), f.name).toBe('');
      outcomes.push(`${f.name}: failed in ${b.error!.stage}, published = run A`);
    }
    const done = await run(landingB, out);
    expect(done.status).toBe('ok');
    expect(done.manifest!.release!.state).toBe('released');
    expect(done.manifest!.stages.some((s) => s.resume && s.resume.reused > 0)).toBe(true);
    const after = await published(out, false);
    expect(after.runId).toBe(done.runId);
    expect(same(after.files, setB)).toBe('');

    // a corrupted table of the released run B: the next run re-runs its stage and leaves set B again
    const scores = join(out, 'curated/scores/as_at=2026-10-31/part-00000.parquet');
    const body = await readFile(scores);
    body[Math.floor(body.length / 2)]! ^= 0xff;
    await writeFile(scores, body);
    const again = await run(landingB, out);
    expect(again.status).toBe('ok');
    expect(again.manifest!.redoneBecause!.changed).toEqual(['curated/scores/as_at=2026-10-31/part-00000.parquet']);
    expect(same((await published(out, false)).files, setB)).toBe('');
    expect((await run(landingB, out)).status).toBe('skipped');
    expect(outcomes).toHaveLength(FAULTS.length);
  }, 900_000);
});
