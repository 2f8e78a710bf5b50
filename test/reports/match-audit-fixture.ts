/**
 * A small, seeded run output directory as the stages would leave it before the match audit: secure person
 * records and validation counts, curated records / persons / pairs / links / families / family_members,
 * match/model.json and clustering.json, and a manifest. Planted problems: one person holding two NHS
 * number tokens, one whose dates of birth are years apart, one person in two families, one refused merge.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalObjectStore } from '../../pipelines/io/local-object-store.ts';
import { writeParquet } from '../../pipelines/io/parquet.ts';
import { defaultRunConfig } from '../../pipelines/config.ts';
import { silentLog } from '../../pipelines/log.ts';
import type { Zone } from '../../pipelines/layout.ts';
import { mulberry32 } from '../../matching/random.ts';
import { localRuntime, type RuntimeProfile } from '../../pipelines/runtime.ts';

export const AS_AT = '2026-03-31';
export const THRESHOLD = 6;
const SOURCES = [
  ['health', 'people'],
  ['schools', 'pupils'],
  ['police', 'people'],
  ['social_care', 'people'],
] as const;
const FORENAMES = ['OLIVIA', 'JACK', 'AISHA', 'KWAME', 'ZUZANNA', 'MEI', 'HARRY', 'FATIMA', 'NOOR', 'PIOTR'];
const SURNAMES = ['SMITH', 'KHAN', 'OKAFOR', 'NOWAK', 'CHEN', 'TAYLOR', 'BEGUM', 'MENSAH', 'WRIGHT', 'HUSSAIN'];

export interface Fixture {
  root: string;
  stores: Record<Zone, LocalObjectStore>;
  ctx: {
    asAt: string;
    runId: string;
    stores: Record<Zone, LocalObjectStore>;
    config: ReturnType<typeof defaultRunConfig>;
    log: typeof silentLog;
    runtime: RuntimeProfile;
  };
  /** Planted person ids. */
  planted: { conflictingTokens: string; dobSpread: string; twoFamilies: string };
  aForename: string;
}

const created: string[] = [];

/** Removes every fixture directory made so far (call from afterAll). */
export async function removeAuditFixtures(): Promise<void> {
  for (const d of created.splice(0)) await rm(d, { recursive: true, force: true });
}

export async function buildAuditFixture(seed = 7): Promise<Fixture> {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const root = await mkdtemp(join(tmpdir(), 'audit-'));
  created.push(root);
  const stores = {
    landing: new LocalObjectStore(join(root, 'landing')),
    secure: new LocalObjectStore(join(root, 'out', 'secure')),
    curated: new LocalObjectStore(join(root, 'out', 'curated')),
    outputs: new LocalObjectStore(join(root, 'out', 'outputs')),
  };
  type Rec = {
    record_id: string;
    source: string;
    feed: string;
    person: number;
    forename: string;
    surname: string;
    dob: string;
    sex: string;
    postcode: string;
    nhs: string | null;
    upn: string | null;
  };
  const recs: Rec[] = [];
  const counters = new Map<string, number>();
  const persons = 140;
  for (let p = 0; p < persons; p++) {
    const fn = pick(FORENAMES);
    const sn = pick(SURNAMES);
    const year = 2008 + Math.floor(rnd() * 18);
    const dob = `${year}-${String(1 + Math.floor(rnd() * 12)).padStart(2, '0')}-${String(1 + Math.floor(rnd() * 28)).padStart(2, '0')}`;
    const sex = rnd() < 0.5 ? 'F' : 'M';
    const pc = `M${10 + Math.floor(rnd() * 10)} ${1 + Math.floor(rnd() * 9)}${pick(['AB', 'RB', 'XY', 'TT'])}`;
    const nhs = rnd() < 0.8 ? (p.toString(16).padStart(4, '0') + 'ab').repeat(11).slice(0, 64) : null;
    const n = 1 + Math.floor(rnd() * 3);
    const used = new Set<string>();
    for (let k = 0; k < n; k++) {
      const [source, feed] = pick(SOURCES);
      if (used.has(source) && rnd() < 0.7) continue;
      used.add(source);
      const c = (counters.get(source) ?? 0) + 1;
      counters.set(source, c);
      recs.push({
        record_id: `${source}:${feed}:R${String(c).padStart(5, '0')}`,
        source,
        feed,
        person: p,
        forename: fn,
        surname: sn,
        dob,
        sex,
        postcode: pc,
        nhs: source === 'police' ? null : nhs,
        upn: source === 'schools' ? `${'c'.repeat(60)}${String(p).padStart(4, '0')}` : null,
      });
    }
  }
  // Plant: person of record 0 gets a second NHS token on another record; person of record 5 a DOB 5 years off.
  const byPerson = new Map<number, Rec[]>();
  for (const r of recs) byPerson.set(r.person, [...(byPerson.get(r.person) ?? []), r]);
  const multi = [...byPerson.values()].filter((rs) => rs.length >= 2);
  multi[0]![1]!.nhs = 'f'.repeat(64);
  multi[0]![0]!.nhs ??= 'e'.repeat(64);
  if (multi[0]![1]!.source === 'police') multi[0]![1]!.source = 'police'; // tokens may sit on any record for the test
  const spread = multi[1]!;
  spread[1]!.dob = `${Number(spread[0]!.dob.slice(0, 4)) - 5}${spread[0]!.dob.slice(4)}`;
  recs.sort((a, b) => (a.record_id < b.record_id ? -1 : 1));
  const personId = (p: number) => `P${String(p).padStart(5, '0')}`;

  await writeParquet(
    stores.secure,
    `as_at=${AS_AT}/person-records.parquet`,
    [
      { name: 'record_id', type: 'VARCHAR' },
      { name: 'source', type: 'VARCHAR' },
      { name: 'forename', type: 'VARCHAR' },
      { name: 'surname', type: 'VARCHAR' },
      { name: 'surname_parts', type: 'VARCHAR[]' },
      { name: 'date_of_birth', type: 'DATE' },
      { name: 'sex', type: 'VARCHAR' },
      { name: 'postcode', type: 'VARCHAR' },
      { name: 'address_line_1', type: 'VARCHAR' },
      { name: 'nhs_number_token', type: 'VARCHAR' },
      { name: 'upn_token', type: 'VARCHAR' },
    ],
    recs.map((r) => ({
      record_id: r.record_id,
      source: r.source,
      forename: r.forename,
      surname: r.surname,
      surname_parts: [r.surname],
      date_of_birth: r.dob,
      sex: r.sex,
      postcode: r.postcode,
      address_line_1: `${1 + (r.person % 90)} ACACIA AVENUE`,
      nhs_number_token: r.nhs,
      upn_token: r.upn,
    })),
  );

  // Validation counts: accepted = records of that feed; some quarantined rows with reasons.
  for (const [source, feed] of SOURCES) {
    const accepted = recs.filter((r) => r.source === source).length;
    const q = { invalid_date_of_birth: 2 + (source.length % 3), missing_required_field: 1 };
    const quarantined = q.invalid_date_of_birth + q.missing_required_field;
    await stores.secure.put(
      `as_at=${AS_AT}/validated/${source}/${feed}/_counts.json`,
      JSON.stringify({
        files: [
          {
            key: `${source}/${feed}/dt=2026-03-01/${feed}.csv`,
            sha256: (source + feed)
              .padEnd(64, '0')
              .slice(0, 64)
              .replace(/[^0-9a-f]/g, 'a'),
            rows: accepted + quarantined,
            accepted,
            quarantined,
            quarantinedByReason: q,
          },
        ],
        ignored:
          source === 'health'
            ? [
                { key: 'health/people/dt=2026-02-01/people.csv', why: 'superseded_snapshot' },
                { key: 'health/people/dt=2026-04-30/people.csv', why: 'after_as_at' },
              ]
            : [],
      }),
    );
  }
  await stores.secure.put(
    `as_at=${AS_AT}/validated/health/maternity/_counts.json`,
    JSON.stringify({
      files: [
        {
          key: 'health/maternity/dt=2026-03-01/maternity.csv',
          sha256: '1'.repeat(64),
          rows: 50,
          accepted: 50,
          quarantined: 0,
          quarantinedByReason: {},
        },
      ],
    }),
  );

  await writeParquet(
    stores.curated,
    `records/as_at=${AS_AT}/part-00000.parquet`,
    [
      { name: 'record_id', type: 'VARCHAR' },
      { name: 'source', type: 'VARCHAR' },
      { name: 'feed', type: 'VARCHAR' },
      { name: 'source_person_ref', type: 'VARCHAR' },
      { name: 'extract_date', type: 'DATE' },
    ],
    recs.map((r) => ({
      record_id: r.record_id,
      source: r.source,
      feed: r.feed,
      source_person_ref: r.record_id.split(':')[2]!,
      extract_date: '2026-03-01',
    })),
  );
  await writeParquet(
    stores.curated,
    `persons/as_at=${AS_AT}/part-00000.parquet`,
    [
      { name: 'record_id', type: 'VARCHAR' },
      { name: 'person_id', type: 'VARCHAR' },
    ],
    recs.map((r) => ({ record_id: r.record_id, person_id: personId(r.person) })),
  );

  // Pairs: within a person (mostly strong), plus random non-matches (weak), a few borderline.
  type Pair = {
    record_id_l: string;
    record_id_r: string;
    match_weight: number;
    match_probability: number;
    match_key: string;
  };
  const pairs: Pair[] = [];
  const prob = (w: number) => 1 / (1 + 2 ** -w);
  const keyFor = (a: Rec, b: Rec) =>
    a.nhs && a.nhs === b.nhs
      ? 'nhs_number_token'
      : rnd() < 0.5
        ? 'surname & date_of_birth'
        : 'postcode & forename:first1';
  for (const rs of byPerson.values()) {
    for (let i = 0; i < rs.length; i++)
      for (let j = i + 1; j < rs.length; j++) {
        const [a, b] = rs[i]!.record_id < rs[j]!.record_id ? [rs[i]!, rs[j]!] : [rs[j]!, rs[i]!];
        const w = Math.round((THRESHOLD + 1 + rnd() * 18) * 100) / 100;
        pairs.push({
          record_id_l: a.record_id,
          record_id_r: b.record_id,
          match_weight: w,
          match_probability: prob(w),
          match_key: keyFor(a, b),
        });
      }
  }
  for (let k = 0; k < 400; k++) {
    const a = pick(recs);
    const b = pick(recs);
    if (a.person === b.person) continue;
    const [l, r] = a.record_id < b.record_id ? [a, b] : [b, a];
    const w = Math.round((-18 + rnd() * (k % 20 === 0 ? 26 : 18)) * 100) / 100;
    pairs.push({
      record_id_l: l.record_id,
      record_id_r: r.record_id,
      match_weight: w,
      match_probability: prob(w),
      match_key: 'surname & date_of_birth',
    });
  }
  const seen = new Set<string>();
  const uniq = pairs
    .filter((p) => !seen.has(`${p.record_id_l}|${p.record_id_r}`) && seen.add(`${p.record_id_l}|${p.record_id_r}`))
    .sort((a, b) => (a.record_id_l + a.record_id_r < b.record_id_l + b.record_id_r ? -1 : 1));
  const pairCols = [
    { name: 'record_id_l', type: 'VARCHAR' },
    { name: 'record_id_r', type: 'VARCHAR' },
    { name: 'match_weight', type: 'DOUBLE' },
    { name: 'match_probability', type: 'DOUBLE' },
    { name: 'match_key', type: 'VARCHAR' },
  ] as const;
  await writeParquet(stores.curated, `pairs/as_at=${AS_AT}/part-00000.parquet`, [...pairCols], uniq);
  const recPerson = new Map(recs.map((r) => [r.record_id, r.person]));
  // Links = accepted pairs that ended up inside one person.
  await writeParquet(
    stores.curated,
    `links/as_at=${AS_AT}/part-00000.parquet`,
    [...pairCols],
    uniq.filter((p) => p.match_weight >= THRESHOLD && recPerson.get(p.record_id_l) === recPerson.get(p.record_id_r)),
  );
  const refusedPair = uniq.find(
    (p) => p.match_weight >= THRESHOLD && recPerson.get(p.record_id_l) !== recPerson.get(p.record_id_r),
  );

  // Families: persons grouped in threes by id, localities North/Central/South; one person in two families.
  const famRows: Array<{ family_id: string; person_id: string; role: string }> = [];
  for (let p = 0; p < persons; p++)
    famRows.push({
      family_id: `F${String(Math.floor(p / 3)).padStart(4, '0')}`,
      person_id: personId(p),
      role: p % 3 === 0 ? 'parent' : 'child',
    });
  const twoFamilies = personId(4);
  famRows.push({ family_id: 'F0000', person_id: twoFamilies, role: 'child' });
  famRows.sort((a, b) => (a.family_id + a.person_id < b.family_id + b.person_id ? -1 : 1));
  await writeParquet(
    stores.curated,
    `family_members/as_at=${AS_AT}/part-00000.parquet`,
    [
      { name: 'family_id', type: 'VARCHAR' },
      { name: 'person_id', type: 'VARCHAR' },
      { name: 'role', type: 'VARCHAR' },
    ],
    famRows,
  );
  const fams = [...new Set(famRows.map((f) => f.family_id))].sort();
  await writeParquet(
    stores.curated,
    `families/as_at=${AS_AT}/part-00000.parquet`,
    [
      { name: 'family_id', type: 'VARCHAR' },
      { name: 'locality', type: 'VARCHAR' },
      { name: 'postcode_district', type: 'VARCHAR' },
    ],
    fams.map((f, i) => ({ family_id: f, locality: ['North', 'Central', 'South'][i % 3]!, postcode_district: 'M14' })),
  );

  await stores.curated.put(
    `match/as_at=${AS_AT}/model.json`,
    JSON.stringify({
      version: 1,
      linkType: 'dedupe_only',
      records: recs.length,
      sources: [],
      prior: { probability: 0.0012, weight: Math.log2(0.0012 / 0.9988), source: 'deterministic_rules' },
      threshold: { probability: prob(THRESHOLD), weight: THRESHOLD },
      comparisons: [
        {
          name: 'forename',
          column: 'forename',
          type: 'name',
          termFrequency: true,
          mSource: 'em',
          uSource: 'random_sample',
          levels: [
            { label: 'null', m: null, u: null, weight: 0 },
            { label: 'exact', m: 0.91, u: 0.004, weight: Math.log2(0.91 / 0.004) },
            { label: 'else', m: 0.09, u: 0.996, weight: Math.log2(0.09 / 0.996) },
          ],
        },
        {
          name: 'date_of_birth',
          column: 'date_of_birth',
          type: 'date',
          termFrequency: false,
          mSource: 'em',
          uSource: 'random_sample',
          levels: [
            { label: 'null', m: null, u: null, weight: 0 },
            { label: 'exact', m: 0.88, u: 0.00005, weight: Math.log2(0.88 / 0.00005) },
            { label: 'else', m: 0.12, u: 0.99995, weight: Math.log2(0.12 / 0.99995) },
          ],
        },
      ],
      u: { sampledPairs: 200000, exhaustive: false, seed: 42 },
      em: {
        sessions: [
          {
            rule: 'surname & date_of_birth',
            pairs: 812,
            fixedComparisons: ['date_of_birth'],
            iterations: [
              { iteration: 1, lambda: 0.3, maxChange: 0.2 },
              { iteration: 2, lambda: 0.25, maxChange: 0.01 },
              { iteration: 3, lambda: 0.24, maxChange: 0.00005 },
            ],
            converged: true,
            lambda: 0.24,
          },
        ],
      },
      blocking: {
        rules: [
          {
            rule: 'surname & date_of_birth',
            pairs: 900,
            blocks: 10,
            largestBlocks: [5],
            newPairs: 900,
            cumulativePairs: 900,
          },
        ],
        candidatePairs: uniq.length,
        totalPossiblePairs: (recs.length * (recs.length - 1)) / 2,
        reductionRatio: 0.99,
        limits: { maxPairsPerRecord: 100, maxBlockRecords: 10_000, maxPairsPerRule: null },
        shards: 1,
      },
      deterministicRules: {
        rules: ['nhs_number_token & date_of_birth', 'upn_token & date_of_birth', 'surname:soundex & date_of_birth'],
        pairs: 60,
        recall: 0.9,
      },
      scoring: { pairsScored: uniq.length, pairsAtOrAboveThreshold: 0 },
      clustering: {
        clusters: persons,
        sizeDistribution: {},
        refusedMerges: 1,
        refusedByReason: {},
        strongIdentifiers: ['nhs_number_token'],
        singleLinkMinProbability: 0.99,
      },
      timingsMs: {},
    }),
  );
  await stores.curated.put(
    `match/as_at=${AS_AT}/clustering.json`,
    JSON.stringify({
      refused: refusedPair
        ? [
            {
              recordIdL: refusedPair.record_id_l,
              recordIdR: refusedPair.record_id_r,
              reason: 'different_strong_identifier',
              column: 'nhs_number_token',
              matchWeight: refusedPair.match_weight,
              matchProbability: refusedPair.match_probability,
            },
          ]
        : [],
      sizeDistribution: {},
    }),
  );
  await stores.outputs.put(
    `as_at=${AS_AT}/manifest.json`,
    JSON.stringify({
      manifestVersion: 1,
      runId: `${AS_AT}-abcdef123456`,
      asAt: AS_AT,
      status: 'running',
      startedAt: '2026-11-24T10:00:00Z',
      ranBy: 'os-user:tester',
      codeVersion: 'git:0123abc',
      config: { version: 'default', sha256: '9'.repeat(64), value: {} },
      inputs: [],
      stages: [],
    }),
  );
  // A published target list, so the privacy scan has something to scan.
  await stores.outputs.put(
    `as_at=${AS_AT}/target-lists/North.csv`,
    'family_id,locality,score\nF0001,North,12\nF0004,North,7\n',
  );
  const ctx = {
    asAt: AS_AT,
    runId: `${AS_AT}-abcdef123456`,
    stores,
    config: defaultRunConfig(),
    log: silentLog,
    runtime: localRuntime(),
  };
  return {
    root,
    stores,
    ctx,
    planted: { conflictingTokens: personId(multi[0]![0]!.person), dobSpread: personId(spread[0]!.person), twoFamilies },
    aForename: recs[0]!.forename,
  };
}
