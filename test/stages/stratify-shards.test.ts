/**
 * Stratify fanned out (pipelines/stages/stratify.ts): the families split by the hash of their id, each shard scores
 * its own, the merge writes `scores` byte-identical to the stage run whole, for any shard count; and the local run of
 * THE state machine really fans out (one stratify shard task per planned shard, on the stage pool's threads).
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
import { localRuntime } from '../../pipelines/runtime.ts';
import type { StageContext } from '../../pipelines/stages/context.ts';
import { deserialize } from 'node:v8';
import { shardFile, shardFolder } from '../../pipelines/stages/sharding.ts';
import { familyShardOf, stage, stratifyStage } from '../../pipelines/stages/stratify.ts';

const AS_AT = '2026-10-31';
const LANDING = join(process.cwd(), 'fixtures', 'samples', 'small', 'landing');
let dir: string;
let out: string;
let runId: string;
let config: RunConfig;
const events: Array<{ stage: string; state: string; item?: number }> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'locality-stratify-shards-'));
  out = join(dir, 'out');
  config = parseRunConfig({ sharding: { stratify: { shards: 3 } } }, 'test');
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
}, 600_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const scoresFile = () => join(out, 'curated', ...keys.curated('scores', AS_AT).split('/'));
const sha = async () =>
  createHash('sha256')
    .update(await readFile(scoresFile()))
    .digest('hex');

/** `tableWindowRows`: the windowed table reads export this many rows at a time (a few: many windows). */
function ctxWith(sharding?: unknown, tableWindowRows?: number): StageContext {
  return {
    runId,
    asAt: AS_AT,
    stores: localStores(LANDING, out),
    config: { ...config, ...(sharding ? { sharding } : {}) } as RunConfig,
    log: silentLog,
    progress: noProgress,
    runtime: localRuntime(tableWindowRows ? { tableWindowRows } : {}),
  };
}

describe('stratify shards', () => {
  it('the run of the state machine fanned out: a plan, three shard tasks, a merge', () => {
    const started = events.filter((e) => e.stage === 'stratify' && e.state === 'started').map((e) => e.item ?? '-');
    expect(started[0]).toBe('-');
    expect(started.slice(1, 4).sort()).toEqual([0, 1, 2]);
    expect(started.slice(4)).toEqual(['-']);
  });

  it('1, 3 and 7 shards write the same scores bytes as the stage run whole (and as the fanned-out run)', async () => {
    const fannedOut = await sha();
    const whole = await stratifyStage(ctxWith());
    expect(await sha()).toBe(fannedOut);
    for (const shards of [1, 3, 7]) {
      // 3 and 7 shards read their tables 100 rows at a time (windowed reads): the same bytes
      const ctx = ctxWith({ stratify: { shards } }, shards > 1 ? 100 : undefined);
      const planned = await stage.run(ctx, { phase: 'plan' });
      expect(planned.shards).toHaveLength(shards);
      // the shards in reverse order: the merge does not depend on the order they ran in
      for (let s = shards - 1; s >= 0; s--) await stage.run(ctx, { phase: 'shard', shard: s });
      const merged = await stage.run(ctx, { phase: 'merge' });
      expect(await sha(), `${shards} shards`).toBe(fannedOut);
      expect(merged.counts).toEqual(whole.counts);
      expect(await ctx.stores.secure.list(shardFolder('stratify', AS_AT, runId))).toEqual([]);
    }
    expect(whole.counts.families_scored).toBeGreaterThan(20);
  });

  it('every family is in exactly one shard, spread over all of them', () => {
    const ids = Array.from(
      { length: 1000 },
      (_, i) => `F${createHash('sha256').update(String(i)).digest('hex').slice(0, 12)}`,
    );
    const per = [0, 0, 0, 0, 0, 0, 0];
    for (const id of ids) per[familyShardOf(id, 7)]! += 1;
    expect(per.every((n) => n > 100)).toBe(true);
    expect(ids.map((id) => familyShardOf(id, 1))).toEqual(ids.map(() => 0));
  });

  it("the plan writes each shard only its own rows: its families' members and those members' facts", async () => {
    const ctx = ctxWith({ stratify: { shards: 3 } });
    await stage.run(ctx, { phase: 'plan' });
    const read = async (name: string, s: number) =>
      deserialize(await ctx.stores.secure.get(shardFile('stratify', AS_AT, runId, s, name, 'bin'))) as {
        members?: Array<{ familyId: string; personId: string }>;
        facts?: Array<{ personId: string }>;
      };
    const plan = JSON.parse(
      (await ctx.stores.secure.get(`${shardFolder('stratify', AS_AT, runId)}plan.json`)).toString('utf8'),
    ) as { memberParts: number[]; factParts: number[] };
    const families = new Set<string>();
    let facts = 0;
    for (let s = 0; s < 3; s++) {
      const members: Array<{ familyId: string; personId: string }> = [];
      for (let p = 0; p < plan.memberParts[s]!; p++) members.push(...(await read(`members-p${p}`, s)).members!);
      expect(members.length).toBeGreaterThan(0);
      for (const m of members) {
        expect(familyShardOf(m.familyId, 3)).toBe(s);
        families.add(m.familyId);
      }
      const persons = new Set(members.map((m) => m.personId));
      for (let p = 0; p < plan.factParts[s]!; p++) {
        const part = await read(`facts-p${p}`, s);
        expect(part.facts!.every((f) => persons.has(f.personId))).toBe(true);
        facts += part.facts!.length;
      }
    }
    const whole = await stratifyStage(ctxWith());
    expect(families.size).toBe(whole.counts.families_scored);
    expect(facts).toBeGreaterThan(0);
  });

  it('a merge with a shard missing fails naming its key; a shard beyond the plan is refused', async () => {
    const ctx = ctxWith({ stratify: { shards: 2 } });
    await stage.run(ctx, { phase: 'plan' });
    await stage.run(ctx, { phase: 'shard', shard: 0 });
    await expect(stage.run(ctx, { phase: 'shard', shard: 2 })).rejects.toThrow(/stratify: shard 2 of 2 does not exist/);
    await expect(stage.run(ctx, { phase: 'merge' })).rejects.toThrow(
      /scores-00001\.bin is missing: shard 1 of 2 did not run/,
    );
    // shard 0's scores put where shard 1's go: refused, not merged
    const key = (s: number) => shardFile('stratify', AS_AT, runId, s, 'scores', 'bin');
    await ctx.stores.secure.put(key(1), await ctx.stores.secure.get(key(0)));
    await expect(stage.run(ctx, { phase: 'merge' })).rejects.toThrow(/is shard 0 of 2 of .*not of this plan/);
  });
});
