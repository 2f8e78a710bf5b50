/**
 * Standardise fanned out (pipelines/stages/standardise/shards.ts): the ref check in the plan, a feed over the budget
 * split into key ranges, the feeds and ranges dealt to the shards, the merge writing every output byte-identical to
 * the stage run whole, for any shard count and any split; the local run
 * of THE state machine really fans out (one standardise shard task per planned shard, on the stage pool's threads);
 * every accepted row is carried forward (or was quarantined by validate); a missing shard or another run's is refused.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../fixtures/generator/generate.ts';
import { PIPELINE_PLAN } from '../../pipelines/definition.ts';
import { FEEDS } from '../../pipelines/feeds/catalogue.ts';
import { parseRunConfig, type RunConfig } from '../../pipelines/config.ts';
import { keys, PERSON_RECORDS_KEY } from '../../pipelines/layout.ts';
import { localStores, runLocal } from '../../pipelines/local/runner.ts';
import { silentLog } from '../../pipelines/log.ts';
import { noProgress } from '../../pipelines/progress.ts';
import { localRuntime } from '../../pipelines/runtime.ts';
import type { StageContext } from '../../pipelines/stages/context.ts';
import { shardFile, shardFolder } from '../../pipelines/stages/sharding.ts';
import { stage, standardiseStage } from '../../pipelines/stages/standardise.ts';
import { dealFeeds } from '../../pipelines/stages/standardise/shards.ts';
import {
  KEY_COLUMN,
  keyRangesOf,
  latestRows,
  type FeedRow,
  type KeyRange,
  type ValidatedFile,
} from '../../pipelines/stages/standardise/read.ts';
import { countsKey, type FeedCounts } from '../../pipelines/stages/validate.ts';

const AS_AT = '2026-06-30';
let LANDING: string;
let dir: string;
let out: string;
let runId: string;
let config: RunConfig;
const events: Array<{ stage: string; state: string; item?: number }> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'locality-standardise-shards-'));
  out = join(dir, 'out');
  LANDING = join(dir, 'landing');
  // a generated partnership: every feed, two monthly extracts (rows superseded), refs that carry an identifier
  generate({
    families: 150,
    seed: 'standardise-shards',
    asAt: AS_AT,
    extracts: 2,
    every: 'month',
    out: dir,
    force: true,
  });
  await spoilDates(LANDING, 3);
  config = parseRunConfig({ sharding: { standardise: { shards: 3 } } }, 'test');
  const res = await runLocal({
    landing: LANDING,
    out,
    asAt: AS_AT,
    config,
    log: silentLog,
    shardWorkers: 2,
    // validate and standardise only (what standardise reads and writes)
    plan: PIPELINE_PLAN.filter((p) => p.name === 'validate' || p.name === 'standardise'),
    onStage: (e) => events.push(e),
  });
  expect(res.error).toBeUndefined();
  runId = res.runId;
}, 600_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Quarantined rows: the first date of `n` data rows of every feed's latest file made impossible (31 February). */
async function spoilDates(landing: string, n: number): Promise<void> {
  const files = (await readdir(landing, { recursive: true })).filter((f) => f.endsWith('.csv')).sort();
  const latest = new Map<string, string>();
  for (const f of files) latest.set(f.split(sep).slice(0, 2).join(sep), f);
  for (const f of latest.values()) {
    const path = join(landing, f);
    const lines = (await readFile(path, 'utf8')).split('\n');
    for (let i = 1, spoilt = 0; i < lines.length && spoilt < n; i++)
      if (/\b\d{4}-\d{2}-\d{2}\b/.test(lines[i]!)) {
        lines[i] = lines[i]!.replace(/\b(\d{4})-\d{2}-\d{2}\b/, '$1-02-31');
        spoilt++;
      }
    await writeFile(path, lines.join('\n'));
  }
}

/** Every file standardise writes. */
const OUTPUTS: Array<[zone: 'secure' | 'curated', key: string]> = [
  ['secure', keys.secure(AS_AT, PERSON_RECORDS_KEY)],
  ['secure', keys.refLookup(AS_AT)],
  ['curated', keys.curated('records', AS_AT)],
  ['curated', keys.curated('facts', AS_AT)],
  ['curated', keys.curated('relationships', AS_AT)],
];
const shas = async () => {
  const o: Record<string, string> = {};
  for (const [zone, key] of OUTPUTS)
    o[key] = createHash('sha256')
      .update(await readFile(join(out, zone, ...key.split('/'))))
      .digest('hex');
  return o;
};

function ctxWith(sharding?: unknown, id = runId): StageContext {
  return {
    runId: id,
    asAt: AS_AT,
    stores: localStores(LANDING, out),
    config: { ...config, sharding } as RunConfig,
    log: silentLog,
    progress: noProgress,
    runtime: localRuntime(),
  };
}

/** The plan the plan phase wrote (secure shard folder). */
async function planOf(ctx: StageContext): Promise<{
  shards: number;
  feeds: Array<{ feed: string; rows: number; range: number; ranges: number; keys?: KeyRange; shard: number }>;
  files: Array<[string, ValidatedFile[]]>;
  refs: Array<[string, string]>;
}> {
  const key = `${shardFolder('standardise', AS_AT, ctx.runId)}plan.json`;
  return JSON.parse((await ctx.stores.secure.get(key)).toString('utf8'));
}

async function acceptedOf(source: string, feed: string): Promise<number> {
  const c = JSON.parse(
    (await ctxWith().stores.secure.get(countsKey(AS_AT, source, feed))).toString('utf8'),
  ) as FeedCounts;
  return c.files.filter((f) => f.status === 'accepted').reduce((a, f) => a + f.accepted, 0);
}

async function fannedOut(ctx: StageContext, shards: number) {
  const planned = await stage.run(ctx, { phase: 'plan' });
  expect(planned.shards).toHaveLength(shards);
  // the shards in reverse order: the merge does not depend on the order they ran in
  for (let s = shards - 1; s >= 0; s--) await stage.run(ctx, { phase: 'shard', shard: s });
  return stage.run(ctx, { phase: 'merge' });
}

describe('standardise shards', () => {
  it('the run of the state machine fanned out: a plan, three shard tasks, a merge', () => {
    const started = events.filter((e) => e.stage === 'standardise' && e.state === 'started').map((e) => e.item ?? '-');
    expect(started[0]).toBe('-');
    expect(started.slice(1, 4).sort()).toEqual([0, 1, 2]);
    expect(started.slice(4)).toEqual(['-']);
  });

  it('1, 3 and 7 shards write the same bytes of every output and the same counts as the stage run whole', async () => {
    const run = await shas();
    const whole = await standardiseStage(ctxWith());
    expect(await shas()).toEqual(run);
    for (const shards of [1, 3, 7]) {
      const merged = await fannedOut(ctxWith({ standardise: { shards } }), shards);
      expect(await shas(), `${shards} shards`).toEqual(run);
      expect(merged.counts, `${shards} shards`).toEqual(whole.counts);
      expect(await ctxWith().stores.secure.list(shardFolder('standardise', AS_AT, runId))).toEqual([]);
    }
    // the sample has what each part of the merge combines
    for (const k of ['personRecords', 'facts', 'relationships', 'eventRowsRead', 'refsChecked'])
      expect(whole.counts[k], k).toBeGreaterThan(0);
  });

  it('a feed over the budget is split into key ranges: 2 and 5 ranges of the largest feed, alone and at 1, 3 and 7 shards, write the same bytes and counts as the stage run whole', async () => {
    const run = await shas();
    const whole = await standardiseStage(ctxWith());
    await stage.run(ctxWith(), { phase: 'plan' });
    const largest = (await planOf(ctxWith())).feeds.reduce((a, f) => (f.rows > a.rows ? f : a));
    expect(largest.ranges).toBe(1);
    for (const ranges of [2, 5]) {
      const rowsPerShard = Math.ceil(largest.rows / ranges);
      for (const shards of [undefined, 1, 3, 7]) {
        const sharding = { standardise: { rowsPerShard, ...(shards ? { shards } : {}) } };
        const ctx = ctxWith(sharding);
        const planned = await stage.run(ctx, { phase: 'plan' });
        const plan = await planOf(ctx);
        const parts = plan.feeds.filter((f) => f.feed === largest.feed);
        expect(parts.map((p) => p.range)).toEqual([...Array(ranges).keys()]);
        expect(plan.shards).toBe(shards ?? Math.min(Math.ceil(planned.counts.rows! / rowsPerShard), plan.feeds.length));
        const merged = await fannedOut(ctx, plan.shards);
        const label = `${ranges} ranges, ${shards ?? 'budget'} shards`;
        expect(await shas(), label).toEqual(run);
        expect(merged.counts, label).toEqual(whole.counts);
      }
    }
  }, 600_000);

  it('the plan cuts each feed over the budget into contiguous key ranges covering every key, about rows / budget of them, each weighed by its rows', async () => {
    const rowsPerShard = 40;
    const ctx = ctxWith({ standardise: { rowsPerShard } });
    const planned = await stage.run(ctx, { phase: 'plan' });
    const plan = await planOf(ctx);
    expect(planned.counts.feedsSplit).toBeGreaterThan(3);
    expect(planned.shards).toHaveLength(Math.min(Math.ceil(planned.counts.rows! / rowsPerShard), plan.feeds.length));
    const byFeed = Map.groupBy(plan.feeds, (f) => f.feed);
    for (const [feed, parts] of byFeed) {
      parts.sort((a, b) => a.range - b.range);
      const rows = parts.reduce((a, p) => a + p.rows, 0);
      const def = FEEDS.find((d) => `${d.source}/${d.feed}` === feed)!;
      expect(rows, feed).toBe(await acceptedOf(def.source, def.feed));
      if (rows <= rowsPerShard) {
        expect(parts, feed).toHaveLength(1);
        continue;
      }
      expect(parts.length, feed).toBeLessThanOrEqual(Math.ceil(rows / rowsPerShard));
      expect(parts.length, feed).toBeGreaterThan(1);
      expect(parts[0]!.keys!.from, feed).toBeUndefined();
      expect(parts.at(-1)!.keys!.to, feed).toBeUndefined();
      for (let i = 1; i < parts.length; i++) {
        expect(parts[i]!.keys!.from, feed).toBe(parts[i - 1]!.keys!.to);
        expect(parts[i]!.ranges, feed).toBe(parts.length);
      }
    }
    expect((await stage.run(ctxWith(), { phase: 'plan' })).shards).toHaveLength(1); // the default budget: one shard
  });

  it('every feed read in key ranges gives, range after range, the rows and counts of the feed read whole, keys that carry an identifier ranged by their pseudonyms', async () => {
    const ctx = ctxWith();
    await stage.run(ctx, { phase: 'plan' });
    const plan = await planOf(ctx);
    const secure = ctx.stores.secure;
    let pseudonymisedKeys = 0;
    let split = 0;
    for (const [feed, files] of plan.files) {
      const def = FEEDS.find((d) => `${d.source}/${d.feed}` === feed)!;
      const key = KEY_COLUMN[def.kind];
      const read = async (refs: Map<string, string>, range?: KeyRange) => {
        const counter = { superseded: 0, rows: 0 };
        const rows: Array<{ row: FeedRow; extractDate: string }> = [];
        for await (const batch of latestRows(secure, files, key, counter, refs, range)) rows.push(...batch);
        return { rows, counter };
      };
      // every third key read as a pseudonym that sorts elsewhere (as the ref check's lookup does for a ref that
      // carries an identifier): the ranges are of the keys as read
      const clear = (await read(new Map(plan.refs))).rows.map((r) => r.row[key]!);
      const refs = new Map(plan.refs);
      clear.forEach((k, i) => i % 3 === 0 && !refs.has(k) && refs.set(k, `pref-${[...k].reverse().join('')}`));
      const all = await read(refs);
      const ranges = await keyRangesOf(secure, files, key, 3, refs);
      if (ranges.length > 1) split++;
      const parts = [];
      for (const r of ranges) parts.push(await read(refs, r));
      expect(
        parts.flatMap((p) => p.rows),
        feed,
      ).toEqual(all.rows);
      expect(
        parts.reduce((a, p) => a + p.counter.rows, 0),
        feed,
      ).toBe(all.counter.rows);
      expect(
        parts.reduce((a, p) => a + p.counter.superseded, 0),
        feed,
      ).toBe(all.counter.superseded);
      expect(
        ranges.reduce((a, r) => a + r.rows, 0),
        feed,
      ).toBe(all.counter.rows);
      pseudonymisedKeys += all.rows.filter((r) => r.row[key]!.startsWith('pref-')).length;
    }
    expect(pseudonymisedKeys, 'keys read as their pseudonyms').toBeGreaterThan(100);
    expect(split, 'feeds cut into more than one range').toBeGreaterThan(plan.files.length / 2);
  }, 300_000);

  it('every accepted row is carried forward: person records and events read add up to validate counts', async () => {
    const secure = ctxWith().stores.secure;
    const accepted = { people: 0, events: 0 };
    let quarantined = 0;
    for (const def of FEEDS) {
      const key = countsKey(AS_AT, def.source, def.feed);
      if (!(await secure.exists(key))) continue;
      const c = JSON.parse((await secure.get(key)).toString('utf8')) as FeedCounts;
      for (const f of c.files) {
        if (f.status !== 'accepted') continue;
        expect(f.rows, f.acceptedKey).toBe(f.accepted + f.quarantined);
        quarantined += f.quarantined;
        if (def.kind === 'people') accepted.people += f.accepted;
        if (def.kind === 'events') accepted.events += f.accepted;
      }
    }
    const { counts } = await fannedOut(ctxWith({ standardise: { shards: 3 } }), 3);
    expect(counts.personRecords! + counts.peopleRowsSuperseded!).toBe(accepted.people);
    expect(counts.eventRowsRead).toBe(accepted.events);
    expect(quarantined, 'the sample has quarantined rows').toBeGreaterThan(0);
  });

  it('feeds are dealt largest first to the shard with fewest rows; each feed in exactly one shard', () => {
    const feeds = [
      { feed: 'a/x', kind: 'people' as const, rows: 10 },
      { feed: 'b/y', kind: 'events' as const, rows: 50 },
      { feed: 'c/z', kind: 'events' as const, rows: 30 },
      { feed: 'd/w', kind: 'relationships' as const, rows: 25 },
    ];
    expect(dealFeeds(feeds, 2).map((f) => f.shard)).toEqual([0, 0, 1, 1]);
    expect(dealFeeds(feeds, 1).map((f) => f.shard)).toEqual([0, 0, 0, 0]);
    // the key ranges of a split feed are dealt as feeds are, each on its own
    const ranges = [
      { feed: 'b/y', range: 0, rows: 20 },
      { feed: 'b/y', range: 1, rows: 20 },
      { feed: 'b/y', range: 2, rows: 10 },
      { feed: 'c/z', range: 0, rows: 30 },
    ];
    expect(dealFeeds(ranges, 2).map((f) => f.shard)).toEqual([1, 1, 0, 0]);
  });

  it('a merge with a shard missing fails naming its key; a shard beyond the plan, or of another run, is refused', async () => {
    const ctx = ctxWith({ standardise: { shards: 2 } });
    await stage.run(ctx, { phase: 'plan' });
    await stage.run(ctx, { phase: 'shard', shard: 0 });
    await expect(stage.run(ctx, { phase: 'shard', shard: 2 })).rejects.toThrow(
      /standardise: shard 2 of 2 does not exist/,
    );
    await expect(stage.run(ctx, { phase: 'merge' })).rejects.toThrow(
      /result-00001\.bin is missing: shard 1 of 2 did not run/,
    );
    // shard 1's result of another run put in its place
    const other = ctxWith({ standardise: { shards: 2 } }, 'other-run-id');
    await stage.run(other, { phase: 'plan' });
    await stage.run(other, { phase: 'shard', shard: 1 });
    const secure = ctx.stores.secure;
    await secure.put(
      shardFile('standardise', AS_AT, runId, 1, 'result', 'bin'),
      await secure.get(shardFile('standardise', AS_AT, 'other-run-id', 1, 'result', 'bin')),
    );
    await expect(stage.run(ctx, { phase: 'merge' })).rejects.toThrow(
      /is shard 1 of 2 of other-run-id, not of this plan/,
    );
  });
});
