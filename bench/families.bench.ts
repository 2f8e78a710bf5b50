/**
 * `npm run bench:families`: pairwise "same family" accuracy of the family units against the generator's truth,
 * on the default fixtures (the ones `npm start` generates: 2,000 families, seed "locality", as at 2026-03-31,
 * six monthly extracts). Prints precision, recall and F1 (target F1 >= 0.95) and timings:
 *
 *   1. family formation alone: persons = the generator's true persons (perfect linkage), addresses, dates of birth and
 *      relationships read from the landing extracts (latest snapshot on or before the as-at date) and standardised;
 *   2. end to end: validate -> standardise -> match -> families through the stage functions (each true person is
 *      judged by the family most of its records landed in), when those stages are registered.
 *
 * Options: --dir <d> (fixtures + scratch, default /tmp/locality-bench-families), --families <n>, --force,
 * --diagnose (where recall and precision are lost), --formation-only (skip the end-to-end part).
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseCsvColumns } from '../matching/csv.ts';
import {
  buildFamilies,
  familyPairwise,
  parseFamiliesConfig,
  type FamilyPerson,
  type FamilyRelationship,
} from '../matching/families/index.ts';
import { standardisePerson } from '../matching/standardise/index.ts';
import { recordIdOf } from '../matching/records.ts';
import { addDays } from '../models/dates.ts';
import { generate } from '../fixtures/generator/generate.ts';
import { PEOPLE_FEEDS } from '../pipelines/feeds/catalogue.ts';
import { localRuntime } from '../pipelines/runtime.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const DIR = opt('--dir', '/tmp/locality-bench-families');
const FAMILIES = Number(opt('--families', '2000'));
const SEED = opt('--seed', 'locality');
const AS_AT = opt('--as-at', '2026-03-31');
const FORCE = args.includes('--force');

type Row = Record<string, string>;

async function readCsvRows(path: string): Promise<Row[]> {
  const csv = parseCsvColumns(await readFile(path, 'utf8'), path);
  return Array.from({ length: csv.rows }, (_, i) =>
    Object.fromEntries(csv.header.map((h) => [h, csv.columns[h]![i]!])),
  );
}

async function extractDirs(source: string, feed: string): Promise<string[]> {
  const base = join(DIR, 'landing', source, feed);
  const dts = (await readdir(base).catch(() => [] as string[]))
    .filter((d) => /^dt=\d{4}-\d{2}-\d{2}$/.test(d) && d.slice(3) <= AS_AT)
    .sort();
  return dts.map((d) => join(base, d));
}

async function rowsOf(source: string, feed: string, snapshot: boolean): Promise<Array<{ row: Row; dt: string }>> {
  const dirs = await extractDirs(source, feed);
  const use = snapshot ? dirs.slice(-1) : dirs;
  const out: Array<{ row: Row; dt: string }> = [];
  for (const d of use)
    for (const f of (await readdir(d)).filter((x) => x.endsWith('.csv')).sort())
      for (const row of await readCsvRows(join(d, f))) out.push({ row, dt: d.slice(-10) });
  if (!snapshot) {
    // incremental: a record_ref repeated later supersedes the earlier one
    const last = new Map<string, { row: Row; dt: string }>();
    for (const r of out) last.set(r.row.record_ref ?? JSON.stringify(r.row), r);
    return [...last.values()];
  }
  return out;
}

function fmt(m: {
  precision: number;
  recall: number;
  f1: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
}): string {
  return `precision ${m.precision.toFixed(4)}  recall ${m.recall.toFixed(4)}  F1 ${m.f1.toFixed(4)}  (TP ${m.truePositives}, FP ${m.falsePositives}, FN ${m.falseNegatives})`;
}

async function main(): Promise<void> {
  if (FORCE) await rm(DIR, { recursive: true, force: true });
  await mkdir(DIR, { recursive: true });
  if (!existsSync(join(DIR, 'truth', 'persons.csv'))) {
    const t = performance.now();
    generate({ families: FAMILIES, seed: SEED, asAt: AS_AT, out: DIR, extracts: 6, every: 'month' });
    console.log(
      `generated ${FAMILIES} families (seed ${SEED}, as at ${AS_AT}) in ${((performance.now() - t) / 1000).toFixed(1)} s into ${DIR}`,
    );
  }
  const truthRecords = await readCsvRows(join(DIR, 'truth', 'records.csv'));
  const truePersonOfRecord = new Map(
    truthRecords.map((r) => [recordIdOf(r.source!, r.feed!, r.source_person_ref!), r.true_person_id!]),
  );
  const trueFamilyOfPerson = new Map(truthRecords.map((r) => [r.true_person_id!, r.true_family_id!]));

  // ---- 1. family formation on true persons
  const t0 = performance.now();
  const people = new Map<string, { dobs: string[]; addresses: FamilyPerson['addresses'] }>();
  const recordOfRef = new Map<string, string>(); // `${source}:${feed}:${ref}` -> true person
  for (const f of PEOPLE_FEEDS) {
    for (const { row, dt } of await rowsOf(f.source, f.feed, true)) {
      const rec = standardisePerson({ source: f.source, feed: f.feed, extractDate: dt }, row);
      const person = truePersonOfRecord.get(rec.recordId);
      if (!person) continue;
      recordOfRef.set(rec.recordId, person);
      const p = people.get(person) ?? { dobs: [], addresses: [] };
      if (rec.dateOfBirth) p.dobs.push(rec.dateOfBirth);
      p.addresses.push({
        recordId: rec.recordId,
        extractDate: dt,
        postcode: rec.postcode,
        addressLine1: rec.addressLine1,
      });
      people.set(person, p);
    }
  }
  const rels: FamilyRelationship[] = [];
  const rel = (
    source: string,
    feed: string,
    ref: string,
    from: string | undefined,
    to: string | undefined,
    relationship: string,
    groupRef: string | null,
    start: string | null,
    end: string | null,
  ) => {
    if (!from || !to || from === to) return;
    rels.push({
      relationshipId: `${source}:${feed}:${ref}`,
      source,
      feed,
      recordRef: ref,
      fromPersonId: from,
      toPersonId: to,
      relationship: relationship as FamilyRelationship['relationship'],
      groupRef,
      startDate: start,
      endDate: end,
    });
  };
  for (const { row } of await rowsOf('social_care', 'relationships', true)) {
    rel(
      'social_care',
      'relationships',
      row.record_ref!,
      recordOfRef.get(recordIdOf('social_care', 'people', row.person_ref!)),
      recordOfRef.get(recordIdOf('social_care', 'people', row.related_person_ref!)),
      row.relationship!,
      row.group_ref || null,
      row.start_date || null,
      row.end_date || null,
    );
  }
  for (const { row } of await rowsOf('schools', 'contacts', true)) {
    if (!['mother', 'father', 'carer'].includes(row.relationship ?? '')) continue;
    rel(
      'schools',
      'contacts',
      row.person_ref!,
      recordOfRef.get(recordIdOf('schools', 'contacts', row.person_ref!)),
      recordOfRef.get(recordIdOf('schools', 'pupils', row.pupil_person_ref!)),
      row.relationship!,
      null,
      null,
      null,
    );
  }
  const expectant = new Set<string>();
  for (const { row } of await rowsOf('health', 'maternity', false)) {
    const mother = recordOfRef.get(recordIdOf('health', 'people', row.person_ref!));
    if (row.baby_person_ref)
      rel(
        'health',
        'maternity',
        row.record_ref!,
        mother,
        recordOfRef.get(recordIdOf('health', 'people', row.baby_person_ref)),
        'mother',
        null,
        row.delivery_date || null,
        null,
      );
    else if (
      mother &&
      row.booking_date &&
      row.booking_date <= AS_AT &&
      !row.delivery_date &&
      (!row.estimated_delivery_date || row.estimated_delivery_date >= addDays(AS_AT, -42))
    )
      expectant.add(mother);
  }
  const persons: FamilyPerson[] = [...people.entries()].map(([personId, p]) => {
    const tally = new Map<string, number>();
    for (const d of p.dobs) tally.set(d, (tally.get(d) ?? 0) + 1);
    const dob = [...tally.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0] ?? null;
    return { personId, dateOfBirth: dob, addresses: p.addresses, expectant: expectant.has(personId) };
  });
  const tRead = performance.now();
  const built = buildFamilies(persons, rels, AS_AT, parseFamiliesConfig({}));
  const tBuild = performance.now();
  const predicted = new Map<string, string>();
  for (const f of built.families)
    for (const m of f.members) if (m.membership === 'primary') predicted.set(m.personId, f.familyId);
  const truth = new Map([...people.keys()].map((p) => [p, trueFamilyOfPerson.get(p)!]));
  const m1 = familyPairwise(predicted, truth);
  console.log('\nfamily formation on true persons (perfect linkage)');
  console.log(
    `  persons with records ${persons.length}, relationships ${rels.length}, true families ${new Set(truth.values()).size}, families formed ${built.families.length}, persons in no family ${built.personsWithoutFamily}`,
  );
  console.log(`  ${fmt(m1)}   target F1 >= 0.95: ${m1.f1 >= 0.95 ? 'MET' : 'NOT MET'}`);
  console.log(`  counts ${JSON.stringify(built.counts)}`);
  if (args.includes('--diagnose')) await diagnose(predicted, truth, persons);
  console.log(
    `  read + standardise ${((tRead - t0) / 1000).toFixed(2)} s, form families ${((tBuild - tRead) / 1000).toFixed(2)} s (${Math.round(persons.length / ((tBuild - tRead) / 1000)).toLocaleString('en-GB')} persons/s)`,
  );

  // ---- 2. end to end through the stages
  if (args.includes('--formation-only')) return;
  await endToEnd(truePersonOfRecord, trueFamilyOfPerson);
}

/** Where recall is lost: persons not placed with the bulk of their true family, by truth role. */
async function diagnose(
  predicted: Map<string, string>,
  truth: Map<string, string>,
  persons: FamilyPerson[],
): Promise<void> {
  const roles = new Map(
    (await readCsvRows(join(DIR, 'truth', 'persons.csv'))).map((r) => [r.true_person_id!, r.role!]),
  );
  const byTrue = new Map<string, string[]>();
  for (const [p, t] of truth) byTrue.set(t, [...(byTrue.get(t) ?? []), p]);
  const tally = new Map<string, number>();
  const pById = new Map(persons.map((p) => [p.personId, p]));
  for (const members of byTrue.values()) {
    const votes = new Map<string, number>();
    for (const p of members) {
      const f = predicted.get(p);
      if (f) votes.set(f, (votes.get(f) ?? 0) + 1);
    }
    const main = [...votes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
    for (const p of members) {
      const f = predicted.get(p);
      if (f === main) continue;
      const pp = pById.get(p)!;
      const k = `${roles.get(p)} ${f ? 'in another family' : 'in no family'}${main ? '' : ' (whole true family unplaced)'}${pp.addresses.length === 0 ? ', no address' : ''}${pp.dateOfBirth ? '' : ', no DOB'}`;
      tally.set(k, (tally.get(k) ?? 0) + 1);
      if (process.env.DIAG_SAMPLE && (tally.get(k) ?? 0) <= 2) {
        const show = (id: string) =>
          `${id} ${roles.get(id)} dob ${pById.get(id)?.dateOfBirth} fam ${predicted.get(id) ?? '-'} @ ${pById
            .get(id)
            ?.addresses.map((a) => `${a.recordId}=${a.postcode}|${a.addressLine1}`)
            .join(' ; ')}`;
        console.log(`      e.g. ${k}:\n        ${members.map(show).join('\n        ')}`);
      }
    }
  }
  for (const [k, n] of [...tally.entries()].sort((a, b) => b[1] - a[1]))
    console.log(`    ${String(n).padStart(5)}  ${k}`);
  // precision: predicted families holding more than one true family, and what joined them
  const byPred = new Map<string, string[]>();
  for (const [p, f] of predicted) byPred.set(f, [...(byPred.get(f) ?? []), p]);
  const why = new Map<string, number>();
  const key = (a: FamilyPerson['addresses'][number]) => `${a.postcode ?? ''}|${a.addressLine1 ?? ''}`;
  for (const members of byPred.values()) {
    const trues = new Set(members.map((p) => truth.get(p)));
    if (trues.size < 2) continue;
    const keysOf = (t: string | undefined) =>
      new Set(
        members
          .filter((p) => truth.get(p) === t)
          .flatMap((p) =>
            pById
              .get(p)!
              .addresses.filter((a) => a.postcode && a.addressLine1)
              .map(key),
          ),
      );
    const [t1, t2] = [...trues];
    const k1 = keysOf(t1);
    const shared = [...keysOf(t2)].some((k) => k1.has(k));
    const k = `${trues.size} true families in one: ${shared ? 'they share an identical address in the data' : 'joined through an address cluster (typo / blank part) or a relationship'}`;
    why.set(k, (why.get(k) ?? 0) + 1);
  }
  for (const [k, n] of [...why.entries()].sort((a, b) => b[1] - a[1]))
    console.log(`    ${String(n).padStart(5)}  ${k}`);
}

async function endToEnd(
  truePersonOfRecord: Map<string, string>,
  trueFamilyOfPerson: Map<string, string>,
): Promise<void> {
  const { STAGES, loadStage } = await import('../pipelines/stages/index.ts');
  const need = ['validate', 'standardise', 'match', 'families'] as const;
  const missing = need.filter((s) => !(s in STAGES));
  console.log('\nend to end (validate -> standardise -> match -> families)');
  if (missing.length) {
    console.log(`  skipped: stage(s) ${missing.join(', ')} not registered yet`);
    return;
  }
  const { LocalObjectStore } = await import('../pipelines/io/local-object-store.ts');
  const { defaultRunConfig } = await import('../pipelines/config.ts');
  const { silentLog } = await import('../pipelines/log.ts');
  const { noProgress } = await import('../pipelines/progress.ts');
  const { readParquet } = await import('../pipelines/io/parquet.ts');
  const { keys } = await import('../pipelines/layout.ts');
  const out = join(DIR, 'run');
  await rm(out, { recursive: true, force: true });
  const stores = {
    landing: new LocalObjectStore(join(DIR, 'landing')),
    secure: new LocalObjectStore(join(out, 'secure')),
    curated: new LocalObjectStore(join(out, 'curated')),
    outputs: new LocalObjectStore(join(out, 'outputs')),
  };
  const ctx = {
    runId: `bench-${AS_AT}`,
    asAt: AS_AT,
    stores,
    config: defaultRunConfig(),
    log: silentLog,
    progress: noProgress,
    runtime: localRuntime(),
  };
  const timings: string[] = [];
  const run = async (name: string, input: unknown) => {
    const st = await loadStage(name);
    const t = performance.now();
    const r = await st.run(ctx as never, st.input.parse(input) as never);
    timings.push(`${name} ${((performance.now() - t) / 1000).toFixed(1)} s`);
    return r;
  };
  try {
    const validate = await import('../pipelines/stages/validate.ts');
    const feeds = await (
      validate as unknown as { discoverFeeds: (c: unknown) => Promise<Array<{ source: string; feed: string }>> }
    ).discoverFeeds(ctx);
    const t = performance.now();
    for (const f of feeds) {
      const st = await loadStage('validate');
      await st.run(ctx as never, st.input.parse({ source: f.source, feed: f.feed }) as never);
    }
    timings.push(`validate ${((performance.now() - t) / 1000).toFixed(1)} s`);
    await run('standardise', {});
    await run('match', {});
    await run('families', {});
  } catch (err) {
    console.log(`  failed: ${(err as Error).message}`);
    return;
  }
  const persons = await readParquet(stores.curated, keys.curated('persons', AS_AT));
  const members = await readParquet(stores.curated, keys.curated('family_members', AS_AT));
  const familyOfPerson = new Map(
    members.filter((m) => m.membership === 'primary').map((m) => [String(m.person_id), String(m.family_id)]),
  );
  // each true person: the family most of its records landed in
  const votes = new Map<string, Map<string, number>>();
  for (const p of persons) {
    const truePerson = truePersonOfRecord.get(String(p.record_id));
    const fam = familyOfPerson.get(String(p.person_id));
    if (!truePerson) continue;
    const v = votes.get(truePerson) ?? new Map<string, number>();
    const k = fam ?? `none:${String(p.person_id)}`;
    v.set(k, (v.get(k) ?? 0) + 1);
    votes.set(truePerson, v);
  }
  const predicted = new Map<string, string>();
  for (const [tp, v] of votes) {
    const best = [...v.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]!;
    if (!best[0].startsWith('none:')) predicted.set(tp, best[0]);
  }
  const truth = new Map([...votes.keys()].map((p) => [p, trueFamilyOfPerson.get(p)!]));
  const m = familyPairwise(predicted, truth);
  console.log(`  ${fmt(m)}   target F1 >= 0.95: ${m.f1 >= 0.95 ? 'MET' : 'NOT MET'}`);
  console.log(`  stage times: ${timings.join(', ')}`);
}

await main();
