/**
 * Clerical review estimates against the generator's truth: a generated partnership (2,000 families) run through
 * validate -> standardise -> match; the review sample exported; every sampled pair labelled from truth/records.csv;
 * the decisions imported. The reported 95% intervals must contain the true pairwise precision and recall of the
 * run over the population the estimate claims (pairs scored, and pairs of one person), at 60 and at 12 decisions.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../fixtures/generator/generate.ts';
import { parseCsvColumns } from '../../matching/csv.ts';
import { recordIdOf } from '../../matching/records.ts';
import { defaultRunConfig } from '../../pipelines/config.ts';
import { LocalObjectStore } from '../../pipelines/io/local-object-store.ts';
import { readParquet } from '../../pipelines/io/parquet.ts';
import { keys, type Zone } from '../../pipelines/layout.ts';
import { silentLog } from '../../pipelines/log.ts';
import { noProgress } from '../../pipelines/progress.ts';
import { localRuntime } from '../../pipelines/runtime.ts';
import { csvRows } from '../../pipelines/privacy/extract.ts';
import type { StageContext } from '../../pipelines/stages/context.ts';
import { loadStage } from '../../pipelines/stages/index.ts';
import { discoverFeeds } from '../../pipelines/stages/validate.ts';
import { allocate, exportReviewSample, populationByStratum } from '../../pipelines/review/export.ts';
import { estimateFromDecisions, strataFor } from '../../pipelines/review/estimate.ts';
import { mulberry32 } from '../../matching/random.ts';
import type { Model } from '../../matching/engine.ts';
import { buildMatchAuditReport } from '../../pipelines/reports/match-audit/build.ts';
import { importDecisions } from '../../pipelines/review/import.ts';

const AS_AT = '2026-03-31';
let dir: string;
let ctx: StageContext;
const trueOf = new Map<string, string>();
let truth: { precision: number; recall: number; linkedPairs: number; pairs: number };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'review-truth-'));
  generate({ families: 2000, seed: 'review-truth', asAt: AS_AT, out: join(dir, 'fixtures') });
  const stores = Object.fromEntries(
    (['secure', 'curated', 'outputs'] as Zone[]).map((z) => [z, new LocalObjectStore(join(dir, 'out', z))]),
  ) as Record<Zone, LocalObjectStore>;
  stores.landing = new LocalObjectStore(join(dir, 'fixtures', 'landing'));
  ctx = {
    runId: 'review-truth',
    asAt: AS_AT,
    stores,
    config: defaultRunConfig(),
    log: silentLog,
    progress: noProgress,
    runtime: localRuntime(),
  };
  const stage = async (name: string, input: unknown = {}) => {
    const s = await loadStage(name);
    return s.run(ctx, s.input.parse(input));
  };
  for (const f of await discoverFeeds(ctx)) await stage('validate', f);
  await stage('standardise');
  await stage('match');

  const t = parseCsvColumns(await readFile(join(dir, 'fixtures', 'truth', 'records.csv'), 'utf8'));
  for (let i = 0; i < t.rows; i++)
    trueOf.set(
      recordIdOf(t.columns.source![i]!, t.columns.feed![i]!, t.columns.source_person_ref![i]!),
      t.columns.true_person_id![i]!,
    );
  // The truth, straight from the curated tables: precision over every pair of records the run put in one person,
  // recall over those and the scored pairs it did not link.
  const personOf = new Map(
    (await readParquet(stores.curated, keys.curated('persons', AS_AT))).map((r) => [
      String(r.record_id),
      String(r.person_id),
    ]),
  );
  const byPerson = new Map<string, string[]>();
  for (const [r, p] of personOf) byPerson.set(p, [...(byPerson.get(p) ?? []), r]);
  let linkedPairs = 0,
    linkedTrue = 0;
  for (const recs of byPerson.values())
    for (let i = 0; i < recs.length; i++)
      for (let j = i + 1; j < recs.length; j++) {
        linkedPairs++;
        if (isMatch(recs[i]!, recs[j]!)) linkedTrue++;
      }
  let missed = 0,
    scoredApart = 0;
  for (const p of await readParquet(stores.curated, keys.curated('pairs', AS_AT))) {
    const [l, r] = [String(p.record_id_l), String(p.record_id_r)];
    if (personOf.get(l) === personOf.get(r)) continue;
    scoredApart++;
    if (isMatch(l, r)) missed++;
  }
  truth = {
    precision: linkedTrue / linkedPairs,
    recall: linkedTrue / (linkedTrue + missed),
    linkedPairs,
    pairs: linkedPairs + scoredApart,
  };
}, 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function isMatch(l: string, r: string): boolean {
  const a = trueOf.get(l);
  return a !== undefined && a === trueOf.get(r);
}

/** Exports a sample of `size`, fills every decision from the truth, imports it. */
async function reviewFromTruth(size: number, seed: number) {
  const { sample, keys: k } = await exportReviewSample(ctx.stores, { asAt: AS_AT, size, seed });
  const rows = [...csvRows((await ctx.stores.secure.get(k.csv)).toString())].map(([, f]) => f);
  const header = rows[0]!;
  const at = (c: string) => header.indexOf(c);
  const filled = [
    header,
    ...rows
      .slice(1)
      .map((f) =>
        f.map((v, i) =>
          i === at('decision') ? (isMatch(f[at('record_id_l')]!, f[at('record_id_r')]!) ? 'match' : 'non-match') : v,
        ),
      ),
  ];
  const text = filled
    .map((f) => f.map((v) => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v)).join(','))
    .join('\n');
  const res = await importDecisions(ctx.stores.secure, AS_AT, text, 'decisions.csv');
  return { sample, csvRows: rows.slice(1), at, estimate: res.estimate };
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

describe("clerical review estimates against the generator's truth (2,000 families)", () => {
  it.each([60, 12])('%i decisions: the 95 percent intervals contain the true precision and recall', async (size) => {
    const { sample, estimate: e } = await reviewFromTruth(size, 20260331);
    expect(sample.pairs).toHaveLength(size);
    expect(e.population).toEqual({
      pairs: truth.pairs,
      linked: truth.linkedPairs,
      notLinked: truth.pairs - truth.linkedPairs,
    });
    const p = e.precision!,
      r = e.recall!;
    console.log(
      `review at ${size} decisions: precision ${pct(p.estimate)} (${pct(p.lower)}-${pct(p.upper)}) true ${pct(truth.precision)}; recall ${pct(r.estimate)} (${pct(r.lower)}-${pct(r.upper)}) true ${pct(truth.recall)}`,
    );
    expect(p.lower).toBeLessThanOrEqual(truth.precision);
    expect(p.upper).toBeGreaterThanOrEqual(truth.precision);
    expect(r.lower).toBeLessThanOrEqual(truth.recall);
    expect(r.upper).toBeGreaterThanOrEqual(truth.recall);
    // never a degenerate interval
    expect(p.upper - p.lower).toBeGreaterThan(0.001);
    expect(r.upper - r.lower).toBeGreaterThan(0.001);
    if (size < 20) {
      expect(p.upper - p.lower).toBeGreaterThan(0.2);
      expect(r.upper - r.lower).toBeGreaterThan(0.2);
    }
  });

  it('says "linked in this run" exactly for pairs whose records are in one person', async () => {
    const { csvRows: rows, at } = await reviewFromTruth(60, 7);
    const personOf = new Map(
      (await readParquet(ctx.stores.curated, keys.curated('persons', AS_AT))).map((r) => [
        String(r.record_id),
        String(r.person_id),
      ]),
    );
    let aboveButApart = 0;
    for (const f of rows) {
      const same = personOf.get(f[at('record_id_l')]!) === personOf.get(f[at('record_id_r')]!);
      expect(f[at('linked_in_this_run')]).toBe(same ? 'yes' : 'no');
      if (!same && Number(f[at('match_weight')]) >= 0) aboveButApart++;
    }
    // pairs above the threshold kept apart (vetoes, the clustering guard) are in the sample, and shown as not linked
    expect(aboveButApart).toBeGreaterThan(0);
    const page = (await ctx.stores.secure.get(keys.secure(AS_AT, 'review/sample.html'))).toString();
    const cards = page.split('<section').slice(1);
    expect(cards.filter((c) => c.includes('Linked in this run (')).length).toBe(
      rows.filter((f) => f[at('linked_in_this_run')] === 'yes').length,
    );
  });

  it('over 40 seeded samples of 30 pairs, the intervals cover the truth at least as often as they claim', async () => {
    // the export's population and allocation, the sample drawn here (the export itself is exercised above)
    const model = JSON.parse((await ctx.stores.curated.get(`match/as_at=${AS_AT}/model.json`)).toString()) as {
      threshold: { weight: number };
    };
    const strata = strataFor(model.threshold.weight);
    const members = await populationByStratum(ctx.stores.curated, AS_AT, strata);
    const populations = strata.map((s) => members.get(s.id)!.length);
    const alloc = allocate(30, populations);
    let covered = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const rnd = mulberry32(seed);
      const decisions = strata.flatMap((s, i) =>
        Array.from({ length: alloc[i]! }, () => {
          const p = members.get(s.id)![Math.floor(rnd() * populations[i]!)]!;
          return {
            stratum: s.id,
            decision: isMatch(p.recordIdL, p.recordIdR) ? ('match' as const) : ('non-match' as const),
          };
        }),
      );
      const e = estimateFromDecisions(
        model.threshold.weight,
        strata,
        Object.fromEntries(strata.map((s, i) => [s.id, populations[i]!])),
        Object.fromEntries(strata.map((s, i) => [s.id, alloc[i]!])),
        decisions,
      );
      if (
        e.precision!.lower <= truth.precision &&
        truth.precision <= e.precision!.upper &&
        e.recall!.lower <= truth.recall &&
        truth.recall <= e.recall!.upper
      )
        covered++;
    }
    expect(covered).toBeGreaterThanOrEqual(38);
  });

  // last: it re-runs the match stage with the labels, changing the run's persons
  it("the match stage trains m from the imported labels, and the audit shows them beside EM's m", async () => {
    const before = JSON.parse((await ctx.stores.curated.get(`match/as_at=${AS_AT}/model.json`)).toString()) as Model;
    expect(before.labels).toBeNull();
    const { estimate } = await reviewFromTruth(60, 20260331);
    const s = await loadStage('match');
    await s.run(ctx, s.input.parse({}));
    const model = JSON.parse((await ctx.stores.curated.get(`match/as_at=${AS_AT}/model.json`)).toString()) as Model;
    expect(model.labels).toEqual({
      labelledPairs: keys.secure(AS_AT, 'review/labelled-pairs.csv'),
      matches: estimate.decisions.match,
    });
    const forename = model.comparisons.find((c) => c.name === 'forename')!;
    expect(forename.mSource).toBe('labels');
    const emForename = before.comparisons.find((c) => c.name === 'forename')!;
    // EM's m is kept beside the labels' (EM runs the same way: the same figures as the run without labels)
    expect(forename.levels.map((l) => l.mEm)).toEqual(emForename.levels.map((l) => l.m));
    expect(forename.levels.map((l) => l.m)).not.toEqual(emForename.levels.map((l) => l.m));
    const { report } = await buildMatchAuditReport({
      asAt: AS_AT,
      runId: 'review-truth',
      stores: ctx.stores,
      config: defaultRunConfig(),
      log: silentLog,
      runtime: ctx.runtime,
    });
    expect(report.linkage.model!.labels!.matches).toBe(estimate.decisions.match);
    const html = (await ctx.stores.outputs.get(`as_at=${AS_AT}/match-audit/report.html`)).toString();
    expect(html).toContain('m (labels, used)');
    expect(html).toContain('m (EM)');
    // switched off in the config: EM again
    await s.run({ ...ctx, config: { ...ctx.config, linkage: { labelledPairs: false } } }, s.input.parse({}));
    const off = JSON.parse((await ctx.stores.curated.get(`match/as_at=${AS_AT}/model.json`)).toString()) as Model;
    expect(off.labels).toBeNull();
    expect(off.comparisons.find((c) => c.name === 'forename')!.mSource).toBe('em');
  }, 300_000);
});
