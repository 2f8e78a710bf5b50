/**
 * Publish fanned out (pipelines/stages/publish-shards.ts): the plan builds the identifier index once, shard k checks
 * the curated tables' distinct values of hash part k, the merge runs the report steps with the scan replayed from
 * the shards' results. For 1, 3 and 7 shards every staged output (the reports, the audit with its scan report and
 * verdict) and the stage's counts are the bytes of the stage run whole; a clear identifier planted in a curated table
 * is caught whichever shard its value falls in; the local run of the state machine fans out; missing or foreign shard
 * files are refused; a failing scan still holds the release.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserialize } from 'node:v8';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRunConfig, type RunConfig } from '../../pipelines/config.ts';
import { readParquet, writeParquet } from '../../pipelines/io/parquet.ts';
import { keys, PERSON_RECORDS_KEY } from '../../pipelines/layout.ts';
import { localStores, runLocal } from '../../pipelines/local/runner.ts';
import { silentLog } from '../../pipelines/log.ts';
import { noProgress } from '../../pipelines/progress.ts';
import { localRuntime } from '../../pipelines/runtime.ts';
import type { StageContext } from '../../pipelines/stages/context.ts';
import { loadStage } from '../../pipelines/stages/index.ts';
import { definePublishStage, PUBLISH_STEPS, stage, type PublishStep } from '../../pipelines/stages/publish.ts';
import { shardFile, shardFolder } from '../../pipelines/stages/sharding.ts';

const AS_AT = '2026-10-31';
const LANDING = join(process.cwd(), 'fixtures', 'samples', 'small', 'landing');
let dir: string;
let out: string;
let runId: string;
let config: RunConfig;
const events: Array<{ stage: string; state: string; item?: number }> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'locality-publish-shards-'));
  out = join(dir, 'out');
  config = parseRunConfig({ sharding: { publish: { shards: 3 } } }, 'test');
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
  expect(res.manifest?.release).toMatchObject({ state: 'released' });
  runId = res.runId;
}, 600_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function ctxWith(sharding?: unknown, root = out): StageContext {
  return {
    runId,
    asAt: AS_AT,
    stores: localStores(LANDING, root),
    config: { ...config, ...(sharding ? { sharding } : {}) } as RunConfig,
    log: silentLog,
    progress: noProgress,
    runtime: localRuntime(),
  };
}

/** sha256 of every staged output of the run (the reports, the audit with the scan report and verdict). */
async function staged(ctx: StageContext): Promise<Record<string, string>> {
  const prefix = keys.stagingPrefix(AS_AT, runId);
  const files: Record<string, string> = {};
  for (const o of await ctx.stores.secure.list(prefix))
    files[o.key.slice(prefix.length)] = createHash('sha256')
      .update(await ctx.stores.secure.get(o.key))
      .digest('hex');
  return files;
}

/** plan, the shards in reverse order (the merge must not depend on their order), merge. */
async function fannedOut(ctx: StageContext, shards: number, entry = stage) {
  const planned = await entry.run(ctx, { phase: 'plan' });
  expect(planned.shards).toHaveLength(shards);
  for (let s = shards - 1; s >= 0; s--) await entry.run(ctx, { phase: 'shard', shard: s });
  return entry.run(ctx, { phase: 'merge' });
}

const audit = async (ctx: StageContext) =>
  JSON.parse((await ctx.stores.secure.get(keys.staged(AS_AT, runId, 'match-audit/report.json'))).toString('utf8'));

describe('publish shards', () => {
  it('the run of the state machine fanned out: a plan, three shard tasks, a merge; released', () => {
    const started = events.filter((e) => e.stage === 'publish' && e.state === 'started').map((e) => e.item ?? '-');
    expect(started[0]).toBe('-');
    expect(started.slice(1, 4).sort()).toEqual([0, 1, 2]);
    expect(started.slice(4)).toEqual(['-']);
  });

  it('1, 3 and 7 shards stage the same bytes and counts as the stage run whole', async () => {
    const whole = await stage.run(ctxWith(), {});
    const wholeFiles = await staged(ctxWith());
    expect(Object.keys(wholeFiles)).toEqual(
      expect.arrayContaining(['match-audit/report.json', 'target-lists/index.html', 'start-well/report.html']),
    );
    const scan = (await audit(ctxWith())).privacy;
    expect(scan.status).toBe('pass');
    expect(scan.files.filter((f: { zone: string }) => f.zone === 'curated').length).toBeGreaterThan(5);
    for (const shards of [1, 3, 7]) {
      const ctx = ctxWith({ publish: { shards } });
      const merged = await fannedOut(ctx, shards);
      expect(await staged(ctx), `${shards} shards`).toEqual(wholeFiles);
      expect(merged.counts, `${shards} shards`).toEqual(whole.counts);
      expect(await ctx.stores.secure.list(shardFolder('publish', AS_AT, runId))).toEqual([]);
    }
  }, 300_000);

  it('a clear identifier planted in a curated table is caught whichever shard its value falls in, never written to a shard file; planted in the staged set, the merge finds what the whole stage finds', async () => {
    // a copy of the run, with a curated table that carries one secure person's identifiers in several shapes
    const root = join(dir, 'planted');
    await rm(root, { recursive: true, force: true });
    const { cp } = await import('node:fs/promises');
    await cp(out, root, { recursive: true });
    const ctx3 = ctxWith({ publish: { shards: 3 } }, root);
    const people = await readParquet(ctx3.stores.secure, keys.secure(AS_AT, PERSON_RECORDS_KEY));
    const p = people.find(
      (r) =>
        typeof r.forename === 'string' &&
        String(r.forename).length > 3 &&
        typeof r.surname === 'string' &&
        String(r.surname).length > 3 &&
        typeof r.date_of_birth === 'string' &&
        typeof r.postcode === 'string',
    )!;
    const [fore, sur, dob, pc] = [p.forename, p.surname, p.date_of_birth, p.postcode].map(String) as [
      string,
      string,
      string,
      string,
    ];
    const cap = (w: string) => w[0]!.toUpperCase() + w.slice(1).toLowerCase();
    const [y, m, d] = dob.split('-');
    const planted = [
      `${cap(fore)}${cap(sur)}01`, // camel case with digits: full name
      `${cap(fore)}.${cap(sur)}.DA1`, // dots and a code: full name
      `${sur.toUpperCase()}-${dob}`, // surname and date of birth
      `${cap(sur)} ${d}/${m}/${y}`,
      `REF-${pc.replace(' ', '-')}`, // postcode with a hyphen
      `${pc.replace(' ', '_')}`,
    ];
    const notes = 'notes/as_at=2026-10-31/part-00000.parquet';
    await writeParquet(
      ctx3.stores.curated,
      notes,
      [
        { name: 'family_id', type: 'VARCHAR' },
        { name: 'note', type: 'VARCHAR' },
      ],
      [
        ...planted.map((note, i) => ({ family_id: `F${i}`, note })),
        ...Array.from({ length: 30 }, (_, i) => ({ family_id: `G${i}`, note: `ordinary note ${i}` })),
      ],
    );
    // the same shapes in a staged report: the merge scans the staged set with the index looked up on disk
    const leak: PublishStep = {
      name: 'leaky-report',
      run: async (ctx) => {
        await ctx.release.put(
          'target-lists/leaky.csv',
          `family_id,note\n${planted.map((n, i) => `F${i},${n}`).join('\n')}\n`,
        );
        return {};
      },
    };
    const leaky = definePublishStage([leak, ...PUBLISH_STEPS]);
    // whole: the scan fails and names the table; the staged audit lists the findings
    await expect(leaky.run(ctxWith(undefined, root), {})).rejects.toThrow(
      /privacy scan FAILED: [1-9]\d* clear identifiers/,
    );
    const wholeFiles = await staged(ctxWith(undefined, root));
    const wholeScan = (await audit(ctxWith(undefined, root))).privacy;
    const inNotes = wholeScan.findings.filter((f: { key: string }) => f.key === notes);
    expect(inNotes.length).toBeGreaterThanOrEqual(planted.length);
    expect(new Set(inNotes.map((f: { location: string }) => f.location)).size).toBe(planted.length);
    const inLeaky = wholeScan.findings.filter((f: { key: string }) => f.key.endsWith('target-lists/leaky.csv'));
    expect(new Set(inLeaky.map((f: { location: string }) => f.location)).size).toBe(planted.length);

    // 3 shards: each shard's file for the table, before the merge
    await leaky.run(ctx3, { phase: 'plan' });
    const hitsPerShard: number[] = [];
    for (let s = 0; s < 3; s++) {
      await leaky.run(ctx3, { phase: 'shard', shard: s });
      const raw = await ctx3.stores.secure.get(shardFile('publish', AS_AT, runId, s, 'curated-scan', 'bin'));
      const text = JSON.stringify(deserialize(raw));
      for (const w of [fore, sur, pc, pc.replace(' ', ''), dob])
        expect(text.toUpperCase(), `shard ${s} file`).not.toContain(w.toUpperCase());
      const file = (deserialize(raw) as { files: Array<{ key: string; settled: { hitValues: unknown[] } | null }> })
        .files;
      hitsPerShard.push(file.find((f) => f.key === notes)!.settled!.hitValues.length);
    }
    // every planted value is checked by exactly one shard, and they fall in more than one
    expect(hitsPerShard.reduce((a, b) => a + b, 0)).toBe(planted.length);
    expect(hitsPerShard.filter((n) => n > 0).length).toBeGreaterThan(1);
    await expect(leaky.run(ctx3, { phase: 'merge' })).rejects.toThrow(
      /privacy scan FAILED: [1-9]\d* clear identifiers/,
    );
    expect(await staged(ctx3)).toEqual(wholeFiles);
    expect((await audit(ctx3)).privacy).toEqual(wholeScan);
  }, 300_000);

  it('a merge with a shard missing fails naming its key; a foreign shard file, a shard beyond the plan are refused', async () => {
    const ctx = ctxWith({ publish: { shards: 2 } });
    await stage.run(ctx, { phase: 'plan' });
    await stage.run(ctx, { phase: 'shard', shard: 0 });
    await expect(stage.run(ctx, { phase: 'shard', shard: 2 })).rejects.toThrow(/publish: shard 2 of 2 does not exist/);
    await expect(stage.run(ctx, { phase: 'merge' })).rejects.toThrow(
      /curated-scan-00001\.bin is missing: shard 1 of 2 did not run/,
    );
    const key = (s: number) => shardFile('publish', AS_AT, runId, s, 'curated-scan', 'bin');
    await ctx.stores.secure.put(key(1), await ctx.stores.secure.get(key(0)));
    await expect(stage.run(ctx, { phase: 'merge' })).rejects.toThrow(/is shard 0 of 2 of .*not of this plan/);
    // a shard without the plan's index is refused, not run with an empty one
    await ctx.stores.secure.delete(`${shardFolder('publish', AS_AT, runId)}identifier-index.parquet`);
    await expect(stage.run(ctx, { phase: 'shard', shard: 1 })).rejects.toThrow(
      /identifier-index\.parquet is missing: run the plan phase first/,
    );
  });

  it('a failing scan of a sharded publish holds the release: the run fails, nothing is released', async () => {
    const people = await readParquet(localStores(LANDING, out).secure, keys.secure(AS_AT, PERSON_RECORDS_KEY));
    const someone = people.find(
      (p) => typeof p.forename === 'string' && typeof p.surname === 'string' && String(p.forename).length > 2,
    )!;
    const leak: PublishStep = {
      name: 'leaky-report',
      run: async (ctx) => {
        await ctx.release.put(
          'target-lists/leaky.csv',
          `family_id,note\nF1,${String(someone.forename)} ${String(someone.surname)}\n`,
        );
        return {};
      },
    };
    const failedOut = join(dir, 'leaky');
    const failed = await runLocal({
      landing: LANDING,
      out: failedOut,
      asAt: AS_AT,
      config,
      log: silentLog,
      shardWorkers: 2,
      loadStage: async (name) =>
        name === 'publish' ? (definePublishStage([leak, ...PUBLISH_STEPS]) as never) : loadStage(name),
    });
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ stage: 'publish' });
    expect(failed.error!.cause).toMatch(/privacy scan FAILED: [1-9]\d* clear identifiers found/);
    expect(failed.manifest).toMatchObject({ status: 'failed', release: { state: 'not-released' } });
    expect(await localStores(LANDING, failedOut).outputs.exists(keys.output(AS_AT, 'target-lists/index.html'))).toBe(
      false,
    );
  }, 300_000);
});
