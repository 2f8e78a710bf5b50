/**
 * Families fanned out by connected component (pipelines/stages/families.ts, familyComponents in
 * matching/families/build.ts): each shard forms the families of its components, the merge carries ids over from the
 * previous run and writes families, family_members, the secure dates of birth and the family id lineage
 * byte-identical to the stage run whole, for any shard count, on the second of two monthly runs (ids carried over);
 * and the local run of THE state machine really fans out (one families shard task per planned shard).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRunConfig, type RunConfig } from '../../pipelines/config.ts';
import { keys } from '../../pipelines/layout.ts';
import { localStores, runLocal } from '../../pipelines/local/runner.ts';
import { silentLog } from '../../pipelines/log.ts';
import { noProgress } from '../../pipelines/progress.ts';
import { localRuntime, type RuntimeProfile } from '../../pipelines/runtime.ts';
import type { StageContext } from '../../pipelines/stages/context.ts';
import { familiesStage, packComponents, stage } from '../../pipelines/stages/families.ts';
import { shardFile, shardFolder } from '../../pipelines/stages/sharding.ts';

const FIRST = '2026-07-31';
const AS_AT = '2026-10-31';
const LANDING = join(process.cwd(), 'fixtures', 'samples', 'small', 'landing');
let dir: string;
let out: string;
let runId: string;
let config: RunConfig;
const events: Array<{ stage: string; state: string; item?: number }> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'locality-families-shards-'));
  out = join(dir, 'out');
  config = parseRunConfig({ sharding: { families: { shards: 3 } } }, 'test');
  // two monthly runs: the second carries family ids over from the first
  const first = await runLocal({ landing: LANDING, out, asAt: FIRST, config, log: silentLog });
  expect(first.error).toBeUndefined();
  const res = await runLocal({
    landing: LANDING,
    out,
    asAt: AS_AT,
    config,
    log: silentLog,
    shardWorkers: 2,
    onStage: (e) => events.push(e),
  });
  expect(res.error).toBeUndefined();
  runId = res.runId;
}, 900_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const written = (): Array<[string, string]> => [
  ['curated', keys.curated('families', AS_AT)],
  ['curated', keys.curated('family_members', AS_AT)],
  ['curated', keys.curatedPart('id_lineage', AS_AT, 1)],
  ['secure', keys.secure(AS_AT, 'families/person-dobs.parquet')],
];
const shas = async () => {
  const all: string[] = [];
  for (const [zone, key] of written())
    all.push(
      `${key} ${createHash('sha256')
        .update(await readFile(join(out, zone, ...key.split('/'))))
        .digest('hex')}`,
    );
  return all;
};

/** `runtime`: e.g. tableWindowRows (the windowed table reads export this many rows at a time), readAhead. */
function ctxWith(sharding?: unknown, runtime: Partial<RuntimeProfile> = {}): StageContext {
  return {
    runId,
    asAt: AS_AT,
    stores: localStores(LANDING, out),
    config: { ...config, ...(sharding ? { sharding } : {}) } as RunConfig,
    log: silentLog,
    progress: noProgress,
    runtime: localRuntime(runtime),
  };
}

describe('families shards', () => {
  it('the run of the state machine fanned out: a plan, three shard tasks, a merge', () => {
    const started = events.filter((e) => e.stage === 'families' && e.state === 'started').map((e) => e.item ?? '-');
    expect(started[0]).toBe('-');
    expect(started.slice(1, 4).sort()).toEqual([0, 1, 2]);
    expect(started.slice(4)).toEqual(['-']);
  });

  it('1, 3 and 7 shards write the same bytes and counts as the stage run whole, ids carried over', async () => {
    const fannedOut = await shas();
    const whole = await familiesStage(ctxWith());
    expect(await shas()).toEqual(fannedOut);
    // the second run carried ids over from the first
    expect(whole.counts.family_ids_kept).toBeGreaterThan(10);
    expect(whole.counts.families).toBeGreaterThan(20);
    for (const shards of [1, 3, 7]) {
      // 3 and 7 shards read their tables 100 rows at a time (windowed reads), 7 as a Lambda reads and writes (no
      // read-ahead: its tables one after another): the same bytes
      const ctx = ctxWith(
        { families: { shards } },
        shards === 1 ? {} : { tableWindowRows: 100, ...(shards === 7 ? { readAhead: false } : {}) },
      );
      const planned = await stage.run(ctx, { phase: 'plan' });
      expect(planned.shards).toHaveLength(shards);
      // the shards in reverse order: the merge does not depend on the order they ran in
      for (let s = shards - 1; s >= 0; s--) {
        const done = await stage.run(ctx, { phase: 'shard', shard: s });
        if (shards > 1) expect(done.counts.persons, `shard ${s} of ${shards} has persons`).toBeGreaterThan(0);
      }
      const merged = await stage.run(ctx, { phase: 'merge' });
      expect(await shas(), `${shards} shards`).toEqual(fannedOut);
      expect(JSON.stringify(merged.counts)).toBe(JSON.stringify(whole.counts));
      expect(JSON.stringify(merged.byLocality)).toBe(JSON.stringify(whole.byLocality));
      expect(await ctx.stores.secure.list(shardFolder('families', AS_AT, runId))).toEqual([]);
    }
  });

  it('components are packed in order into shards of about equal persons, a large one alone', () => {
    expect([...packComponents([1, 1, 1, 1, 1, 1], 3)]).toEqual([0, 0, 1, 1, 2, 2]);
    expect([...packComponents([10, 1, 1, 1, 1], 3)]).toEqual([0, 1, 1, 2, 2]);
    expect([...packComponents([1, 1, 1], 1)]).toEqual([0, 0, 0]);
    expect([...packComponents([3, 3], 5)]).toEqual([0, 1]);
  });

  it('a merge with a shard missing fails naming its key; a shard beyond the plan and a foreign shard file are refused', async () => {
    const ctx = ctxWith({ families: { shards: 2 } });
    await stage.run(ctx, { phase: 'plan' });
    await stage.run(ctx, { phase: 'shard', shard: 0 });
    await expect(stage.run(ctx, { phase: 'shard', shard: 2 })).rejects.toThrow(/families: shard 2 of 2 does not exist/);
    await expect(stage.run(ctx, { phase: 'merge' })).rejects.toThrow(
      /families-00001\.bin is missing: shard 1 of 2 did not run/,
    );
    // shard 0's output put where shard 1's goes: refused, not merged
    const secure = ctx.stores.secure;
    const key = (s: number) => shardFile('families', AS_AT, runId, s, 'families', 'bin');
    await secure.put(key(1), await secure.get(key(0)));
    await expect(stage.run(ctx, { phase: 'merge' })).rejects.toThrow(/is shard 0 of 2 of .*not of this plan/);
  });
});
