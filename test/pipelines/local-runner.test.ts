import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { PlannedStage } from '../../pipelines/definition.ts';
import { runLocal } from '../../pipelines/local/runner.ts';
import { silentLog } from '../../pipelines/log.ts';
import { defineStage, type StageEntry } from '../../pipelines/stages/index.ts';

// A fake two-stage pipeline run through THE definition builder and the local executor:
// "count" is a Map over feeds (like validate), "summarise" a single task that also gets $.results (like publish).
const PLAN: PlannedStage[] = [
  { name: 'count', kind: 'map' },
  { name: 'summarise', kind: 'task', withResults: true },
];

let dir: string;
let landing: string;
let out: string;
const calls: string[] = [];
let failSummariseTimes = 0;
let summariseSleepMs = 0;
let transientCountFailures = 0;

const fakeStages: Record<string, StageEntry<unknown>> = {
  count: defineStage('count', z.object({ source: z.string(), feed: z.string() }), async (ctx, input) => {
    calls.push(`count:${input.source}/${input.feed}`);
    if (transientCountFailures > 0) {
      transientCountFailures--;
      throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    }
    const files = (await ctx.stores.landing.list(`${input.source}/${input.feed}/`)).filter(
      (f) => f.key.endsWith('.csv') && f.key.split('/')[2]!.slice(3) <= ctx.asAt,
    );
    let rows = 0;
    for (const f of files) rows += (await ctx.stores.landing.get(f.key)).toString('utf8').trim().split('\n').length - 1;
    await ctx.stores.curated.put(
      `counts/as_at=${ctx.asAt}/${input.source}-${input.feed}.json`,
      JSON.stringify({ rows }),
    );
    return { counts: { rowsIn: rows, rowsOut: rows } };
  }) as StageEntry<unknown>,
  summarise: defineStage('summarise', z.object({ results: z.record(z.string(), z.unknown()) }), async (ctx, input) => {
    calls.push('summarise');
    if (summariseSleepMs) await new Promise((r) => setTimeout(r, summariseSleepMs));
    if (failSummariseTimes > 0) {
      failSummariseTimes--;
      throw new Error('disk on fire (injected)');
    }
    const counted = input.results.count as Array<{ counts: { rowsIn: number } }>;
    const total = counted.reduce((a, r) => a + r.counts.rowsIn, 0);
    await ctx.stores.secure.put(
      `as_at=${ctx.asAt}/staging/${ctx.runId}/summary.json`,
      JSON.stringify({ total, configVersion: ctx.config.configVersion, input: input.results }),
    );
    return { counts: { rowsIn: total, feeds: counted.length } };
  }) as StageEntry<unknown>,
};
const loadStage = async (name: string) => {
  const s = fakeStages[name];
  if (!s) throw new Error(`no fake stage ${name}`);
  return s;
};

async function put(path: string, body: string) {
  await mkdir(join(landing, path, '..'), { recursive: true });
  await writeFile(join(landing, path), body);
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'locality-runner-'));
  landing = join(dir, 'landing');
  out = join(dir, 'out');
  calls.length = 0;
  failSummariseTimes = 0;
  summariseSleepMs = 0;
  transientCountFailures = 0;
  await put('schools/pupils/dt=2026-01-31/pupils.csv', 'person_ref\nA\nB\n');
  await put('schools/pupils/dt=2026-02-28/pupils.csv', 'person_ref\nA\nB\nC\n');
  await put('police/incidents/dt=2026-01-31/inc.csv', 'record_ref\nR1\n');
  await put('police/incidents/dt=2026-02-28/inc.csv', 'record_ref\nR2\nR3\n');
  await put('police/incidents/dt=2026-03-31/inc.csv', 'record_ref\nR4\n'); // after the as-at date: not an input
  await put('police/incidents/dt=2026-02-28/_READY', '');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const run = (extra: Partial<Parameters<typeof runLocal>[0]> = {}) =>
  runLocal({ landing, out, asAt: '2026-02-28', plan: PLAN, loadStage, log: silentLog, retryDelayMs: 0, ...extra });

describe('local runner (the run definition on aws-local-stepfunctions)', () => {
  it('runs the Map over feeds then the next stage, and writes an ok manifest with inputs, counts and timings', async () => {
    const r = await run();
    expect(r.error).toBeUndefined();
    expect(r.status).toBe('ok');
    expect(calls.sort()).toEqual(['count:police/incidents', 'count:schools/pupils', 'summarise']);
    const m = r.manifest!;
    expect(m.status).toBe('ok');
    expect(m.runId).toMatch(/^2026-02-28-[0-9a-f]{12}$/);
    // snapshot feed: only the latest extract; event feed: every extract up to the as-at date
    expect(m.inputs.map((i) => i.key)).toEqual([
      'police/incidents/dt=2026-01-31/inc.csv',
      'police/incidents/dt=2026-02-28/inc.csv',
      'schools/pupils/dt=2026-02-28/pupils.csv',
    ]);
    expect(m.inputs.every((i) => /^[0-9a-f]{64}$/.test(i.sha256))).toBe(true);
    expect(m.stages.map((s) => [s.name, s.status])).toEqual([
      ['count', 'ok'],
      ['summarise', 'ok'],
    ]);
    const count = m.stages.find((s) => s.name === 'count')!;
    expect(count.items).toBe(2);
    expect(count.counts).toEqual({ rowsIn: 8, rowsOut: 8 });
    expect(count.durationMs).toBeGreaterThanOrEqual(0);
    expect(m.ranBy).toMatch(/^os-user:|^./);
    expect(m.codeVersion.length).toBeGreaterThan(0);
    const summary = JSON.parse(await readFile(join(out, 'outputs/as_at=2026-02-28/summary.json'), 'utf8'));
    expect(summary.total).toBe(8);
    // later stages never see timings (so their outputs stay byte-identical)
    expect(JSON.stringify(summary.input)).not.toContain('timing');
  });

  it("retries a transient failure with the definition's Retry and succeeds", async () => {
    transientCountFailures = 1;
    const r = await run({ mapConcurrency: 1 });
    expect(r.status).toBe('ok');
    expect(calls.filter((c) => c.startsWith('count:')).length).toBe(3);
  });

  it('a failing stage is caught: manifest says failed with the stage and error, earlier outputs stay, a re-run completes', async () => {
    failSummariseTimes = 1;
    const failed = await run();
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ stage: 'summarise', error: 'Error' });
    expect(failed.error!.cause).toContain('disk on fire');
    expect(failed.notifications).toHaveLength(1);
    const fm = JSON.parse(await readFile(failed.manifestPath, 'utf8'));
    expect(fm.status).toBe('failed');
    expect(fm.stages.find((s: { name: string }) => s.name === 'count').status).toBe('ok');
    expect(fm.stages.find((s: { name: string }) => s.name === 'summarise').status).toBe('failed');
    // nothing lost: the Map's outputs are still there
    expect(
      JSON.parse(await readFile(join(out, 'curated/counts/as_at=2026-02-28/schools-pupils.json'), 'utf8')),
    ).toEqual({ rows: 5 });

    const again = await run();
    expect(again.status).toBe('ok');
    expect(again.runId).toBe(failed.runId);
    expect(again.manifest!.error).toBeUndefined();
  });

  it("a Task is bound by the local task timeout, not Lambda's 15 minutes: past it the run fails as States.Timeout", async () => {
    summariseSleepMs = 2_500;
    const late = await run({ taskTimeoutSeconds: 1 });
    expect(late.status).toBe('failed');
    expect(late.error).toMatchObject({ stage: 'summarise', error: 'States.Timeout' });
    const m = JSON.parse(await readFile(late.manifestPath, 'utf8'));
    expect(m.stages.find((s: { name: string }) => s.name === 'summarise').status).toBe('failed');
    // the same Task within a longer timeout finishes, as a 1M-family merge on a loaded machine must
    const again = await run({ taskTimeoutSeconds: 10 });
    expect(again.status).toBe('ok');
    expect(again.runId).toBe(late.runId);
  });

  it('skips a run already done with the same run id, unless forced; changed inputs give a new run id', async () => {
    const first = await run();
    calls.length = 0;
    const second = await run();
    expect(second.status).toBe('skipped');
    expect(second.runId).toBe(first.runId);
    expect(calls).toEqual([]);
    const forced = await run({ force: true });
    expect(forced.status).toBe('ok');
    expect(calls).toContain('summarise');
    await put('schools/pupils/dt=2026-02-28/pupils.csv', 'person_ref\nA\nB\nC\nD\n');
    const changed = await run();
    expect(changed.status).toBe('ok');
    expect(changed.runId).not.toBe(first.runId);
  });
});
