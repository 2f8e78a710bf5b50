/**
 * The match stage with the default partnership settings on a small generated population
 * (generate -> validate -> standardise -> match): person-level pairwise F1 against the generator's
 * truth, and no twins ever in one person.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../fixtures/generator/generate.ts';
import { parseCsvColumns } from '../../matching/csv.ts';
import { GroundTruth, evaluateClusters } from '../../matching/evaluation.ts';
import { recordIdOf } from '../../matching/records.ts';
import { defaultRunConfig } from '../../pipelines/config.ts';
import { LocalObjectStore } from '../../pipelines/io/local-object-store.ts';
import { readParquet } from '../../pipelines/io/parquet.ts';
import { keys, type Zone } from '../../pipelines/layout.ts';
import { silentLog } from '../../pipelines/log.ts';
import { noProgress } from '../../pipelines/progress.ts';
import { localRuntime } from '../../pipelines/runtime.ts';
import type { StageContext } from '../../pipelines/stages/context.ts';
import { loadStage } from '../../pipelines/stages/index.ts';
import { discoverFeeds } from '../../pipelines/stages/validate.ts';
import { matchKeys } from '../../pipelines/stages/match.ts';

const AS_AT = '2026-03-31';
let dir: string;
let ctx: StageContext;
let matchCounts: Record<string, number>;

async function stage(name: string, input: unknown = {}) {
  const s = await loadStage(name);
  return s.run(ctx, s.input.parse(input));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'match-e2e-'));
  generate({ families: 300, seed: 'c1-match', asAt: AS_AT, out: join(dir, 'fixtures'), extracts: 2, every: 'month' });
  const stores = Object.fromEntries(
    (['secure', 'curated', 'outputs'] as Zone[]).map((z) => [z, new LocalObjectStore(join(dir, 'out', z))]),
  ) as Record<Zone, LocalObjectStore>;
  stores.landing = new LocalObjectStore(join(dir, 'fixtures', 'landing'));
  ctx = {
    runId: 'match-e2e',
    asAt: AS_AT,
    stores,
    config: defaultRunConfig(),
    log: silentLog,
    progress: noProgress,
    runtime: localRuntime(),
  };
  for (const f of await discoverFeeds(ctx)) await stage('validate', f);
  await stage('standardise');
  matchCounts = (await stage('match')).counts;
}, 300_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('match stage on a generated partnership population', () => {
  it('finds the true persons (person-level pairwise F1 >= 0.98) and never merges twins', async () => {
    const truth = parseCsvColumns(await readFile(join(dir, 'fixtures', 'truth', 'records.csv'), 'utf8'));
    const trueOf = new Map<string, string>();
    for (let i = 0; i < truth.rows; i++)
      trueOf.set(
        recordIdOf(truth.columns.source![i]!, truth.columns.feed![i]!, truth.columns.source_person_ref![i]!),
        truth.columns.true_person_id![i]!,
      );
    const persons = await readParquet(ctx.stores.curated, keys.curated('persons', AS_AT));
    expect(persons.length).toBe(matchCounts.records);
    const matched = persons.filter((p) => trueOf.has(String(p.record_id)));
    const gt = new GroundTruth(
      matched.map((p) => ({ id: String(p.record_id), cluster: trueOf.get(String(p.record_id))! })),
      'dedupe_only',
    );
    const res = evaluateClusters(
      gt,
      matched.map((p) => [String(p.record_id), String(p.person_id)] as const),
    );
    console.log(
      `partnership: ${matched.length} records, ${gt.clusterCount} true persons; person-level pairwise precision ${res.precision.toFixed(4)} recall ${res.recall.toFixed(4)} F1 ${res.f1.toFixed(4)}; counts ${JSON.stringify(matchCounts)}`,
    );
    // the bar: the engine reaches 0.989 on this population (0.982-0.987 at 500-2,000 families, 0.9798 at 20,000,
    // other seeds; see docs/linkage.md)
    expect(res.f1).toBeGreaterThanOrEqual(0.98);

    // twins: no person holds records of two different members of a twin group
    const tp = parseCsvColumns(await readFile(join(dir, 'fixtures', 'truth', 'persons.csv'), 'utf8'));
    const twinGroup = new Map<string, string>();
    for (let i = 0; i < tp.rows; i++)
      if (tp.columns.twin_group![i]) twinGroup.set(tp.columns.true_person_id![i]!, tp.columns.twin_group![i]!);
    expect(twinGroup.size).toBeGreaterThan(0);
    const twinsPerPerson = new Map<string, Set<string>>();
    for (const p of matched) {
      const t = trueOf.get(String(p.record_id))!;
      if (!twinGroup.has(t)) continue;
      const s = twinsPerPerson.get(String(p.person_id)) ?? new Set<string>();
      s.add(t);
      twinsPerPerson.set(String(p.person_id), s);
    }
    const merged = [...twinsPerPerson.entries()].filter(([, s]) => s.size > 1);
    expect(merged).toEqual([]);
  });

  it('writes curated pairs, links, model and clustering report without clear identifiers', async () => {
    const pairs = await readParquet(ctx.stores.curated, keys.curated('pairs', AS_AT));
    expect(Object.keys(pairs[0]!)).toEqual([
      'record_id_l',
      'record_id_r',
      'match_weight',
      'match_probability',
      'match_key',
    ]);
    const links = await readParquet(ctx.stores.curated, keys.curated('links', AS_AT));
    expect(links.length).toBe(matchCounts.linksAccepted);
    for (const l of links) expect(String(l.record_id_l) < String(l.record_id_r)).toBe(true);
    const model = JSON.parse((await ctx.stores.curated.get(matchKeys.model(AS_AT))).toString('utf8'));
    expect(model.em.sessions.length).toBeGreaterThan(0);
    expect(model.blocking.rules[0].rule).toBe('nhs_number_token');
    const clustering = JSON.parse((await ctx.stores.curated.get(matchKeys.clustering(AS_AT))).toString('utf8'));
    expect(clustering.refusedMerges.length).toBe(matchCounts.mergesRefused);
    // no names or dates of birth from the secure records in the curated JSON
    const secure = await readParquet(ctx.stores.secure, keys.secure(AS_AT, 'person-records.parquet'));
    const text = JSON.stringify(model) + JSON.stringify(clustering);
    for (const r of secure.slice(0, 200)) {
      for (const f of ['surname', 'date_of_birth', 'postcode']) {
        const v = r[f];
        if (typeof v === 'string' && v.length > 3) expect(text.includes(v)).toBe(false);
      }
    }
  });
});
