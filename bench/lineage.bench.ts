/**
 * `npm run bench:lineage`: how stable person and family ids are month to month, judged on the generator's truth.
 *
 * Generates six monthly extracts (`generate --extracts 6 --every month`), backfills them (one run per month end,
 * each reading the one before), then for each month after the first prints:
 *   - ids kept: share of the previous run's person / family ids still given this run;
 *   - truth followed: share of true persons / families (in both runs) whose id is the same in both, where a true
 *     entity's id is the one most of its records (persons) or persons (families) carry;
 *   - through merges and splits: the same, among true entities whose previous or current id took part in a merge
 *     or split (from id_lineage; runs from before lineage have none);
 *   - lineage counts (new, merges, splits, retired) and the backfill's wall time.
 *
 * Options: --dir <d> (default /tmp/locality-bench-lineage), --families <n> (1000), --seed s, --measure-only (reuse
 * <d>/out), --out <d> --truth <d> (measure any output root against any truth folder).
 */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { generate } from '../fixtures/generator/generate.ts';
import { parseCsvColumns } from '../matching/csv.ts';
import { recordIdOf } from '../matching/records.ts';
import { backfillLocal } from '../pipelines/backfill/local.ts';
import { LocalObjectStore } from '../pipelines/io/local-object-store.ts';
import { readParquet } from '../pipelines/io/parquet.ts';
import { keys } from '../pipelines/layout.ts';
import { jsonLog } from '../pipelines/log.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const DIR = opt('--dir', '/tmp/locality-bench-lineage');
const OUT = opt('--out', join(DIR, 'out'));
const TRUTH = opt('--truth', join(DIR, 'fixtures', 'truth'));
const FAMILIES = Number(opt('--families', '1000'));
const SEED = opt('--seed', 'locality');
const AS_AT = opt('--as-at', '2026-03-31');

interface Month {
  asAt: string;
  personOfRecord: Map<string, string>;
  familyOfPerson: Map<string, string>;
  lineage: Array<{ entity: string; id: string; kind: string; from_ids: string[]; to_ids: string[] }>;
}

async function readMonth(curated: LocalObjectStore, asAt: string): Promise<Month> {
  const persons = await readParquet(curated, keys.curated('persons', asAt));
  const members = await readParquet(curated, keys.curated('family_members', asAt));
  const lineage: Month['lineage'] = [];
  for (const part of [0, 1]) {
    const k = keys.curatedPart('id_lineage', asAt, part);
    if (await curated.exists(k))
      for (const r of await readParquet(curated, k)) lineage.push(r as unknown as Month['lineage'][number]);
  }
  return {
    asAt,
    personOfRecord: new Map(persons.map((r) => [String(r.record_id), String(r.person_id)])),
    familyOfPerson: new Map(
      members.filter((m) => m.membership === 'primary').map((m) => [String(m.person_id), String(m.family_id)]),
    ),
    lineage,
  };
}

/** The id most of a true entity's items carry (ties: the smaller id). */
function dominant(items: string[], idOf: (item: string) => string | undefined): string | undefined {
  const n = new Map<string, number>();
  for (const x of items) {
    const id = idOf(x);
    if (id !== undefined) n.set(id, (n.get(id) ?? 0) + 1);
  }
  let best: string | undefined;
  for (const [id, c] of n) if (best === undefined || c > n.get(best)! || (c === n.get(best)! && id < best)) best = id;
  return best;
}

const pct = (a: number, b: number) => (b === 0 ? '   -  ' : `${((100 * a) / b).toFixed(1).padStart(5)}%`);

function compare(
  prev: Month,
  cur: Month,
  truePersonRecords: Map<string, string[]>,
  trueFamilyPersons: (m: Month) => Map<string, string[]>,
) {
  const prevPersonIds = new Set(prev.personOfRecord.values());
  const curPersonIds = new Set(cur.personOfRecord.values());
  const prevFamilyIds = new Set(prev.familyOfPerson.values());
  const curFamilyIds = new Set(cur.familyOfPerson.values());
  const kept = (a: Set<string>, b: Set<string>) => [...a].filter((x) => b.has(x)).length;
  const touched = (entity: string) =>
    new Set(
      cur.lineage
        .filter((r) => r.entity === entity && (r.kind === 'merge' || r.kind === 'split' || r.kind === 'retired'))
        .flatMap((r) => [r.id, ...r.from_ids, ...r.to_ids]),
    );
  const follow = (
    truth: Map<string, string[]>,
    truthCur: Map<string, string[]>,
    idPrev: (x: string) => string | undefined,
    idCur: (x: string) => string | undefined,
    changed: Set<string>,
  ) => {
    let both = 0,
      same = 0,
      hard = 0,
      hardSame = 0;
    for (const [t, items] of truth) {
      const a = dominant(items, idPrev);
      const b = dominant(truthCur.get(t) ?? [], idCur);
      if (a === undefined || b === undefined) continue;
      both += 1;
      if (a === b) same += 1;
      if (changed.has(a) || changed.has(b)) {
        hard += 1;
        if (a === b) hardSame += 1;
      }
    }
    return { both, same, hard, hardSame };
  };
  const p = follow(
    truePersonRecords,
    truePersonRecords,
    (r) => prev.personOfRecord.get(r),
    (r) => cur.personOfRecord.get(r),
    touched('person'),
  );
  const f = follow(
    trueFamilyPersons(prev),
    trueFamilyPersons(cur),
    (x) => prev.familyOfPerson.get(x),
    (x) => cur.familyOfPerson.get(x),
    touched('family'),
  );
  const count = (entity: string, kind: string) =>
    cur.lineage.filter((r) => r.entity === entity && r.kind === kind).length;
  return {
    asAt: cur.asAt,
    personsKept: pct(kept(prevPersonIds, curPersonIds), prevPersonIds.size),
    familiesKept: pct(kept(prevFamilyIds, curFamilyIds), prevFamilyIds.size),
    personsFollow: pct(p.same, p.both),
    personsFollowHard: `${pct(p.hardSame, p.hard)} of ${p.hard}`,
    familiesFollow: pct(f.same, f.both),
    familiesFollowHard: `${pct(f.hardSame, f.hard)} of ${f.hard}`,
    lineage: ['new', 'merge', 'split', 'retired']
      .map((k) => `${k} ${count('person', k)}/${count('family', k)}`)
      .join(', '),
  };
}

async function main() {
  let wallS: number | null = null;
  if (!args.includes('--measure-only') && !args.includes('--out')) {
    await rm(DIR, { recursive: true, force: true });
    await generate({
      families: FAMILIES,
      seed: SEED,
      asAt: AS_AT,
      out: join(DIR, 'fixtures'),
      extracts: 6,
      every: 'month',
    });
    const t0 = performance.now();
    const s = await backfillLocal({
      landing: join(DIR, 'fixtures', 'landing'),
      out: OUT,
      from: '2025-10-31',
      to: AS_AT,
      every: 'month',
      log: jsonLog('error'),
    });
    wallS = (performance.now() - t0) / 1000;
    if (s.failed) throw new Error(`backfill failed at ${s.failed.asAt}: ${s.failed.stage}: ${s.failed.cause}`);
  }
  const truth = parseCsvColumns(await readFile(join(TRUTH, 'records.csv'), 'utf8'), 'truth/records.csv');
  const truePersonRecords = new Map<string, string[]>();
  const trueFamilyOfPerson = new Map<string, string>(); // true person -> true family
  for (let i = 0; i < truth.rows; i++) {
    const rid = recordIdOf(truth.columns.source![i]!, truth.columns.feed![i]!, truth.columns.source_person_ref![i]!);
    const tp = truth.columns.true_person_id![i]!;
    const l = truePersonRecords.get(tp);
    if (l) l.push(rid);
    else truePersonRecords.set(tp, [rid]);
    trueFamilyOfPerson.set(tp, truth.columns.true_family_id![i]!);
  }
  // a true family's items are the predicted persons its true persons' records landed in
  const trueFamilyPersons = (m: Month) => {
    const out = new Map<string, string[]>();
    for (const [tp, recs] of truePersonRecords) {
      const pid = dominant(recs, (r) => m.personOfRecord.get(r));
      if (pid === undefined) continue;
      const tf = trueFamilyOfPerson.get(tp)!;
      const l = out.get(tf);
      if (l) l.push(pid);
      else out.set(tf, [pid]);
    }
    return out;
  };
  const curated = new LocalObjectStore(join(OUT, 'curated'));
  const dates = (await curated.list('persons/')).map((o) => /as_at=(\d{4}-\d{2}-\d{2})/.exec(o.key)![1]!).sort();
  if (!existsSync(join(OUT, 'curated')) || dates.length < 2) throw new Error(`${OUT}: fewer than two runs to compare`);
  const months = [];
  for (const d of dates) months.push(await readMonth(curated, d));
  const rows = [];
  for (let k = 1; k < months.length; k++)
    rows.push(compare(months[k - 1]!, months[k]!, truePersonRecords, trueFamilyPersons));
  console.log(`id stability over ${months.length} runs (${OUT}); truth ${TRUTH}`);
  console.table(rows);
  if (wallS !== null) console.log(`backfill of ${months.length} monthly runs: ${wallS.toFixed(1)} s wall`);
}

await main();
