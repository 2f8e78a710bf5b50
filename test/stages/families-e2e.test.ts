/**
 * End to end on a small generated population: generate -> validate -> standardise -> match -> families -> stratify
 * -> publish (target lists, Start Well), then: families against the generator's truth, every locality's outputs,
 * and the privacy scan over everything published for the date.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from '../../fixtures/generator/generate.ts';
import { LocalObjectStore } from '../../pipelines/io/local-object-store.ts';
import { readParquet } from '../../pipelines/io/parquet.ts';
import { keys, type Zone } from '../../pipelines/layout.ts';
import { defaultRunConfig } from '../../pipelines/config.ts';
import { silentLog } from '../../pipelines/log.ts';
import { noProgress } from '../../pipelines/progress.ts';
import { localRuntime } from '../../pipelines/runtime.ts';
import type { StageContext } from '../../pipelines/stages/context.ts';
import { loadStage } from '../../pipelines/stages/index.ts';
import { discoverFeeds } from '../../pipelines/stages/validate.ts';
import { loadIdentifierIndex } from '../../pipelines/privacy/identifiers.ts';
import { describeFinding, scanPublished } from '../../pipelines/privacy/scan.ts';
import { familyPairwise } from '../../matching/families/index.ts';
import { parseCsvColumns } from '../../matching/csv.ts';
import { recordIdOf } from '../../matching/records.ts';

const AS_AT = '2026-03-31';
let dir: string;
let ctx: StageContext;

async function stage(name: string, input: unknown = {}) {
  const s = await loadStage(name);
  return s.run(ctx, s.input.parse(input));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'd-e2e-'));
  generate({ families: 120, seed: 'd-e2e', asAt: AS_AT, out: join(dir, 'fixtures'), extracts: 2, every: 'month' });
  const stores = Object.fromEntries(
    (['secure', 'curated', 'outputs'] as Zone[]).map((z) => [z, new LocalObjectStore(join(dir, 'out', z))]),
  ) as Record<Zone, LocalObjectStore>;
  stores.landing = new LocalObjectStore(join(dir, 'fixtures', 'landing'));
  ctx = {
    runId: 'e2e',
    asAt: AS_AT,
    stores,
    config: defaultRunConfig(),
    log: silentLog,
    progress: noProgress,
    runtime: localRuntime(),
  };
  for (const f of await discoverFeeds(ctx)) await stage('validate', f);
  await stage('standardise');
  await stage('match');
}, 240_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('families to publish on a generated population', () => {
  it('forms families close to the truth, scores them and publishes every locality', async () => {
    const fam = await stage('families');
    expect(fam.counts.families).toBeGreaterThan(80);
    // accuracy: each true person judged by the family most of its records landed in
    const truth = parseCsvColumns(await readFile(join(dir, 'fixtures', 'truth', 'records.csv'), 'utf8'));
    const trueOf = new Map<string, string>();
    const famOfTrue = new Map<string, string>();
    for (let i = 0; i < truth.rows; i++) {
      trueOf.set(
        recordIdOf(truth.columns.source![i]!, truth.columns.feed![i]!, truth.columns.source_person_ref![i]!),
        truth.columns.true_person_id![i]!,
      );
      famOfTrue.set(truth.columns.true_person_id![i]!, truth.columns.true_family_id![i]!);
    }
    const persons = await readParquet(ctx.stores.curated, keys.curated('persons', AS_AT));
    const members = await readParquet(ctx.stores.curated, keys.curated('family_members', AS_AT));
    const famOfPerson = new Map(
      members.filter((m) => m.membership === 'primary').map((m) => [String(m.person_id), String(m.family_id)]),
    );
    const votes = new Map<string, Map<string, number>>();
    for (const p of persons) {
      const t = trueOf.get(String(p.record_id));
      const f = famOfPerson.get(String(p.person_id));
      if (!t || !f) continue;
      const v = votes.get(t) ?? new Map<string, number>();
      v.set(f, (v.get(f) ?? 0) + 1);
      votes.set(t, v);
    }
    const predicted = new Map(
      [...votes].map(([t, v]) => [t, [...v.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0]]),
    );
    const m = familyPairwise(predicted, new Map([...new Set(trueOf.values())].map((t) => [t, famOfTrue.get(t)!])));
    expect(m.precision).toBeGreaterThan(0.95);
    expect(m.f1).toBeGreaterThan(0.9);

    const st = await stage('stratify');
    expect(st.counts.families_scored).toBe(fam.counts.families);
    expect(st.counts.families_with_a_rule_fired).toBeGreaterThan(0);
    const pub = await (
      await import('../../pipelines/stages/publish.ts')
    ).publishStage(ctx, { steps: ['target-lists', 'start-well'] });
    await (await import('../../pipelines/release/promote.ts')).promoteRelease(ctx.stores, ctx.asAt, ctx.runId);
    expect(pub.counts.target_list_localities).toBeGreaterThanOrEqual(3);
    for (const loc of ['North', 'Central', 'South']) {
      const csv = await readFile(join(dir, 'out', 'outputs', `as_at=${AS_AT}`, 'target-lists', `${loc}.csv`), 'utf8');
      expect(
        csv.startsWith(
          '\ufeffrank,family_id,tier,score,headlines_met,reasons,members,flags,ward_code,ward_name,change,previous_tier,previous_rank,months_on_list,lead_outcome,headlines_not_evidenced\r\n',
        ),
      ).toBe(true);
      await readFile(join(dir, 'out', 'outputs', `as_at=${AS_AT}`, 'target-lists', `${loc}.xlsx`));
    }
    expect(pub.counts.start_well_children).toBeGreaterThan(0);
  });

  it('the privacy scan finds no clear identifier in anything published or curated for the date', async () => {
    const ix = await loadIdentifierIndex(ctx.stores.secure, AS_AT);
    const { result } = await scanPublished(ix, ctx.stores, AS_AT, {
      vocabulary: ['North', 'Central', 'South', 'Unassigned'],
    });
    expect(result.findings.map(describeFinding)).toEqual([]);
    expect(result.status).toBe('pass');
  });
});
