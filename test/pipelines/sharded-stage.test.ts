/**
 * The generic sharded-stage framework (pipelines/stages/stage.ts defineShardedStage, stages/sharding.ts, the
 * definition's plan -> Distributed Map -> merge, the local runner's stage pool): a fake sharded stage through THE
 * state machine, the shard count from the config's budget, and the real pipeline's shards on worker threads giving
 * the same bytes as in-process.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRunConfig } from '../../pipelines/config.ts';
import { renderRunDefinition, type PlannedStage } from '../../pipelines/definition.ts';
import { runLocal } from '../../pipelines/local/runner.ts';
import { silentLog, type Log, type LogFields } from '../../pipelines/log.ts';
import { phaseRankOf } from '../../pipelines/stage-records.ts';
import { defineShardedStage, loadStage, shardPhaseInput, type StageEntry } from '../../pipelines/stages/index.ts';
import { shardCountFor, shardFile, shardFolder, shardItems } from '../../pipelines/stages/sharding.ts';

describe('shard count from the configured budget', () => {
  const cfg = (sharding?: unknown) => parseRunConfig(sharding === undefined ? {} : { sharding }, 'test');
  it('defaults: one shard for a small input, ceil(rows / budget) above it, at least one for none', () => {
    expect(shardCountFor(cfg(), 'stratify', 300)).toBe(1);
    expect(shardCountFor(cfg(), 'stratify', 0)).toBe(1);
    expect(shardCountFor(cfg(), 'stratify', 1_000_000)).toBe(10);
  });
  it('rowsPerShard, maxShards and an exact shards count from the config', () => {
    expect(shardCountFor(cfg({ stratify: { rowsPerShard: 100 } }), 'stratify', 301)).toBe(4);
    expect(shardCountFor(cfg({ stratify: { rowsPerShard: 1, maxShards: 5 } }), 'stratify', 301)).toBe(5);
    expect(shardCountFor(cfg({ stratify: { shards: 7 } }), 'stratify', 3)).toBe(7);
  });
  it('a config without the section keeps no sharding key (its hash, and so its run id, unchanged)', () => {
    expect('sharding' in cfg()).toBe(false);
  });
  it('bad values are refused naming the field', () => {
    expect(() => cfg({ stratify: { rowsPerShard: 0 } })).toThrow(/sharding\.stratify\.rowsPerShard/);
    expect(() => cfg({ stratify: { rowPerShard: 10 } })).toThrow(/rowPerShard/);
    expect(() => cfg({ nosuchstage: { rowsPerShard: 10 } })).toThrow(/nosuchstage/);
  });
  it('shard files live in the stage shard folder of the run', () => {
    expect(shardFolder('stratify', '2026-03-31', 'r1')).toBe('as_at=2026-03-31/stratify/shards/r1/');
    expect(shardFile('stratify', '2026-03-31', 'r1', 3, 'scores', 'bin')).toBe(
      'as_at=2026-03-31/stratify/shards/r1/scores-00003.bin',
    );
    expect(shardItems(3)).toEqual([{ shard: 0 }, { shard: 1 }, { shard: 2 }]);
  });
});

describe('phases', () => {
  it('the stage records rank the generic phases (and match link as merge)', () => {
    expect(
      [{}, { phase: 'plan' }, { phase: 'shard', shard: 2 }, { phase: 'merge' }, { phase: 'link' }].map(phaseRankOf),
    ).toEqual([0, 0, 1, 2, 2]);
  });
  it('the registry says which stages are sharded and their files agree (match, families, stratify, publish)', async () => {
    expect((await loadStage('match')).sharded).toBe(true);
    expect((await loadStage('stratify')).sharded).toBe(true);
    expect((await loadStage('families')).sharded).toBe(true);
    expect((await loadStage('publish')).sharded).toBe(true);
    const asl = renderRunDefinition().asl as { States: Record<string, { Parameters?: unknown }> };
    expect(asl.States['Match plan']).toBeDefined();
    expect(asl.States.Match!.Parameters).toMatchObject({ input: { phase: 'merge' } });
  });
  it('a shard phase without a shard number, or an unknown phase, is refused naming the stage', async () => {
    const s = defineShardedStage('toy', shardPhaseInput.loose(), {
      plan: async () => ({ counts: {}, shards: shardItems(1) }),
      shard: async () => ({ counts: {} }),
      merge: async () => ({ counts: {} }),
    });
    const ctx = {} as Parameters<typeof s.run>[0];
    await expect(s.run(ctx, { phase: 'shard' })).rejects.toThrow(/^toy: the shard phase needs a shard number/);
    await expect(s.run(ctx, { phase: 'link' } as never)).rejects.toThrow(/^toy: invalid phase input/);
  });
});

// ---- a fake sharded stage through the state machine -----------------------------------------------------
const TOY_PLAN: PlannedStage[] = [{ name: 'toy', kind: 'sharded' }];
const calls: string[] = [];
const toyInput = shardPhaseInput.loose().default({});
const toy = defineShardedStage('toy', toyInput, {
  async plan(ctx) {
    calls.push('plan');
    const n = shardCountFor(ctx.config, 'stratify', 10); // the budget of a pipeline stage's name (the config knows those)
    await ctx.stores.secure.put(`${shardFolder('toy', ctx.asAt, ctx.runId)}plan.json`, JSON.stringify({ n }));
    return { counts: { shards: n }, shards: shardItems(n) };
  },
  async shard(ctx, _input, shard) {
    calls.push(`shard ${shard}`);
    await ctx.stores.secure.put(shardFile('toy', ctx.asAt, ctx.runId, shard, 'part', 'txt'), `part ${shard}\n`);
    return { counts: { shard } };
  },
  async merge(ctx) {
    calls.push('merge');
    const folder = shardFolder('toy', ctx.asAt, ctx.runId);
    const parts = (await ctx.stores.secure.list(folder)).filter((o) => o.key.includes('part-')).map((o) => o.key);
    const body = (await Promise.all(parts.sort().map((k) => ctx.stores.secure.get(k)))).join('');
    await ctx.stores.curated.put(`toy/as_at=${ctx.asAt}/all.txt`, body);
    for (const o of await ctx.stores.secure.list(folder)) await ctx.stores.secure.delete(o.key);
    return { counts: { parts: parts.length } };
  },
});

describe('a sharded stage in the local state machine', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'locality-sharded-'));
    await mkdir(join(dir, 'landing', 'schools', 'pupils', 'dt=2026-03-31'), { recursive: true });
    await writeFile(join(dir, 'landing', 'schools', 'pupils', 'dt=2026-03-31', 'pupils.csv'), 'person_ref\nA\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('plan -> one shard task per planned shard (the configured count) -> merge, whose output has every shard', async () => {
    calls.length = 0;
    const events: Array<{ stage: string; state: string; item?: number }> = [];
    const res = await runLocal({
      landing: join(dir, 'landing'),
      out: join(dir, 'out'),
      asAt: '2026-03-31',
      config: parseRunConfig({ sharding: { stratify: { shards: 3 } } }, 'test'),
      plan: TOY_PLAN,
      log: silentLog,
      retryDelayMs: 0,
      loadStage: async () => toy as StageEntry<unknown>,
      onStage: (e) => events.push(e),
    });
    expect(res.error).toBeUndefined();
    expect(res.status).toBe('ok');
    expect(calls[0]).toBe('plan');
    expect(calls.slice(1, 4).sort()).toEqual(['shard 0', 'shard 1', 'shard 2']);
    expect(calls[4]).toBe('merge');
    expect(await readFile(join(dir, 'out', 'curated', 'toy', 'as_at=2026-03-31', 'all.txt'), 'utf8')).toBe(
      'part 0\npart 1\npart 2\n',
    );
    // the execution: the plan task, three shard tasks (Map items 0-2), the merge task
    const started = events.filter((e) => e.state === 'started' && e.stage === 'toy').map((e) => e.item ?? '-');
    expect(started[0]).toBe('-');
    expect(started.slice(1, 4).sort()).toEqual([0, 1, 2]);
    expect(started.slice(4)).toEqual(['-']);
    expect(res.manifest?.stages.find((st) => st.name === 'toy')?.counts).toEqual({ parts: 3 });
    // the shard folder is gone after the merge
    expect(Object.keys(await hashes(join(dir, 'out', 'secure')))).toEqual([]);
  });
});

// ---- the real pipeline's shards on the stage pool's worker threads ----------------------------------------
async function hashes(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const go = async (d: string): Promise<void> => {
    for (const name of await readdir(d)) {
      const p = join(d, name);
      const key = relative(root, p).split(sep).join('/');
      if (/^(secure\/_scratch|outputs\/_runs|outputs\/_releases|outputs\/run_manifests)\//.test(key)) continue;
      // timings, the release folder, the code version, the out dir's own pseudonym key
      if (/manifest\.json$|_CURRENT\.json$|match-audit\/|^secure\/keys\//.test(key)) continue;
      if ((await stat(p)).isDirectory()) await go(p);
      else
        out[key] = createHash('sha256')
          .update(await readFile(p))
          .digest('hex');
    }
  };
  await go(root);
  return out;
}

describe('the stage pool', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'locality-stage-pool-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the match shards on worker threads, with the same bytes as in-process', { timeout: 300_000 }, async () => {
    const landing = join(process.cwd(), 'fixtures', 'samples', 'small', 'landing');
    const seen: Array<{ message: string; fields?: LogFields }> = [];
    const log: Log = { ...silentLog, info: (message, fields) => seen.push({ message, ...(fields ? { fields } : {}) }) };
    // families fanned out too (after match): its shards run on threads of their own
    const config = parseRunConfig({ sharding: { families: { shards: 3 } } }, 'test');
    const inProcess = await runLocal({
      landing,
      out: join(dir, 'w0'),
      asAt: '2026-10-31',
      config,
      log: silentLog,
      shardWorkers: 0,
    });
    const onThreads = await runLocal({
      landing,
      out: join(dir, 'w2'),
      asAt: '2026-10-31',
      config,
      log,
      shardWorkers: 2,
    });
    expect([inProcess.status, onThreads.status]).toEqual(['ok', 'ok']);
    const threadsOf = (stage: string) =>
      seen
        .filter((s) => s.message === 'stage started' && s.fields?.stage === stage && s.fields.thread !== undefined)
        .map((s) => s.fields!.thread);
    const shardThreads = threadsOf('match');
    expect(shardThreads.length).toBeGreaterThan(1); // every shard of the plan, each on a worker
    expect(new Set(shardThreads).size).toBe(2);
    // the match threads ended before match's merge (what they held, e.g. their decoded shard input, is gone):
    // families' 3 shards ran on 2 fresh threads
    const familiesThreads = threadsOf('families');
    expect(familiesThreads).toHaveLength(3);
    expect(new Set(familiesThreads).size).toBe(2);
    expect(familiesThreads.filter((t) => shardThreads.includes(t))).toEqual([]);
    const a = await hashes(join(dir, 'w0'));
    expect(Object.keys(a).length).toBeGreaterThan(50);
    expect(await hashes(join(dir, 'w2'))).toEqual(a);
  });
});
