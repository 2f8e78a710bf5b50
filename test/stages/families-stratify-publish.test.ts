/**
 * The families -> stratify -> publish stages on hand-made curated inputs (what standardise and match write),
 * in a temp output root: tables, target lists, Start Well, determinism, and no clear identifier in any output.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalObjectStore } from '../../pipelines/io/local-object-store.ts';
import { readParquet, writeParquet } from '../../pipelines/io/parquet.ts';
import { keys, type Zone } from '../../pipelines/layout.ts';
import { defaultRunConfig } from '../../pipelines/config.ts';
import { silentLog } from '../../pipelines/log.ts';
import { noProgress } from '../../pipelines/progress.ts';
import { localRuntime } from '../../pipelines/runtime.ts';
import type { StageContext } from '../../pipelines/stages/context.ts';
import { familiesStage } from '../../pipelines/stages/families.ts';
import { stratifyStage } from '../../pipelines/stages/stratify.ts';
import { publishStage } from '../../pipelines/stages/publish.ts';
import { promoteRelease } from '../../pipelines/release/promote.ts';

/** Publish (to the run's staging) then release, as Finalise run does. */
async function publishAndRelease(c: StageContext, input: Parameters<typeof publishStage>[1]) {
  const r = await publishStage(c, input);
  await promoteRelease(c.stores, c.asAt, c.runId);
  return r;
}
import { findExternalReferences } from '../../pipelines/reports/html/index.ts';
import { loadExplanation, renderExplanation } from '../../pipelines/cli/commands/explain.ts';
import { defaultRuleSet } from '../../models/rules/supporting-families.ts';

const AS_AT = '2026-06-30';
// real rows of fixtures/lookups/postcode-directory.csv: M4 1PZ -> E05011352 (North)
const NORTH_PC = 'M4 1PZ';

interface P {
  rec: string;
  person: string;
  forename: string;
  surname: string;
  dob: string;
  postcode: string | null;
  line: string | null;
}
const people: P[] = [
  // family 1 (North): mum, two children, mum's partner; dad lives elsewhere
  {
    rec: 'health:people:H1',
    person: 'P01',
    forename: 'ZELDAQ',
    surname: 'QUIXWORTH',
    dob: '1990-02-03',
    postcode: NORTH_PC,
    line: '1 TESTING ROW',
  },
  {
    rec: 'social_care:people:S1',
    person: 'P01',
    forename: 'ZELDAQ',
    surname: 'QUIXWORTH',
    dob: '1990-02-03',
    postcode: NORTH_PC,
    line: '1 TESTING ROW',
  },
  {
    rec: 'schools:pupils:K1',
    person: 'P02',
    forename: 'YORICKZ',
    surname: 'QUIXWORTH',
    dob: '2014-05-06',
    postcode: NORTH_PC,
    line: '1 TESTING ROW',
  },
  {
    rec: 'health:people:H3',
    person: 'P03',
    forename: 'XAVIERQ',
    surname: 'QUIXWORTH',
    dob: '2025-11-20',
    postcode: NORTH_PC,
    line: '1 TESTING ROW',
  },
  {
    rec: 'police:people:N4',
    person: 'P04',
    forename: 'WILBURX',
    surname: 'PLONKETT',
    dob: '1988-07-08',
    postcode: NORTH_PC,
    line: '1 TESTING ROW',
  },
  {
    rec: 'schools:contacts:C5',
    person: 'P05',
    forename: 'VERNONQ',
    surname: 'QUIXWORTH',
    dob: '1987-09-10',
    postcode: 'ZZ9 9ZZ',
    line: '99 NOWHERE LANE',
  },
  // family 2 (unknown postcode -> Unassigned): a child open to child protection
  {
    rec: 'schools:pupils:K6',
    person: 'P06',
    forename: 'ULRICQX',
    surname: 'MOFFERTY',
    dob: '2012-01-01',
    postcode: 'ZZ1 1ZZ',
    line: '5 ELSEWHERE ROAD',
  },
  {
    rec: 'social_care:people:S7',
    person: 'P07',
    forename: 'TABITHQ',
    surname: 'MOFFERTY',
    dob: '1985-01-01',
    postcode: 'ZZ1 1ZZ',
    line: '5 ELSEWHERE ROAD',
  },
];

let ctx: StageContext;
let root: string;

function makeCtx(dir: string, asAt = AS_AT): StageContext {
  const stores = Object.fromEntries(
    (['landing', 'secure', 'curated', 'outputs'] as Zone[]).map((z) => [z, new LocalObjectStore(join(dir, z))]),
  ) as Record<Zone, LocalObjectStore>;
  return {
    runId: `test-${asAt}`,
    asAt,
    stores,
    config: defaultRunConfig(),
    log: silentLog,
    progress: noProgress,
    runtime: localRuntime(),
  };
}

async function seed(c: StageContext) {
  await writeParquet(
    c.stores.secure,
    keys.secure(c.asAt, 'person-records.parquet'),
    [
      { name: 'record_id', type: 'VARCHAR' },
      { name: 'source', type: 'VARCHAR' },
      { name: 'feed', type: 'VARCHAR' },
      { name: 'extract_date', type: 'DATE' },
      { name: 'forename', type: 'VARCHAR' },
      { name: 'surname', type: 'VARCHAR' },
      { name: 'date_of_birth', type: 'DATE' },
      { name: 'postcode', type: 'VARCHAR' },
      { name: 'address_line_1', type: 'VARCHAR' },
    ],
    people.map((p) => ({
      record_id: p.rec,
      source: p.rec.split(':')[0]!,
      feed: p.rec.split(':')[1]!,
      extract_date: '2026-06-01',
      forename: p.forename,
      surname: p.surname,
      date_of_birth: p.dob,
      postcode: p.postcode,
      address_line_1: p.line,
    })),
  );
  await writeParquet(
    c.stores.curated,
    keys.curated('persons', c.asAt),
    [
      { name: 'record_id', type: 'VARCHAR' },
      { name: 'person_id', type: 'VARCHAR' },
    ],
    people.map((p) => ({ record_id: p.rec, person_id: p.person })),
  );
  const rel = (
    id: string,
    from: string,
    to: string,
    relationship: string,
    source = 'social_care',
    feed = 'relationships',
  ) => ({
    relationship_id: `${source}:${feed}:${id}`,
    source,
    feed,
    record_ref: id,
    from_record_id: from,
    to_record_id: to,
    relationship,
    group_ref: null,
    start_date: null,
    end_date: null,
  });
  await writeParquet(
    c.stores.curated,
    keys.curated('relationships', c.asAt),
    [
      { name: 'relationship_id', type: 'VARCHAR' },
      { name: 'source', type: 'VARCHAR' },
      { name: 'feed', type: 'VARCHAR' },
      { name: 'record_ref', type: 'VARCHAR' },
      { name: 'from_record_id', type: 'VARCHAR' },
      { name: 'to_record_id', type: 'VARCHAR' },
      { name: 'relationship', type: 'VARCHAR' },
      { name: 'group_ref', type: 'VARCHAR' },
      { name: 'start_date', type: 'DATE' },
      { name: 'end_date', type: 'DATE' },
    ],
    [
      rel('R1', 'social_care:people:S1', 'schools:pupils:K1', 'mother'),
      rel('MAT1', 'health:people:H1', 'health:people:H3', 'mother', 'health', 'maternity'),
      rel('C5', 'schools:contacts:C5', 'schools:pupils:K1', 'father', 'schools', 'contacts'),
      rel('R7', 'social_care:people:S7', 'schools:pupils:K6', 'mother'),
    ],
  );
  const fact = (
    type: string,
    src: string,
    ref: string,
    rec: string,
    date: string,
    endDate: string | null,
    value: number | null,
    detail: Record<string, string>,
  ) => ({
    fact_id: `${src}:${ref}`,
    type,
    source: src.split(':')[0]!,
    feed: src.split(':')[1]!,
    record_ref: ref,
    record_id: rec,
    date,
    end_date: endDate,
    value,
    detail: JSON.stringify(detail),
  });
  await writeParquet(
    c.stores.curated,
    keys.curated('facts', c.asAt),
    [
      { name: 'fact_id', type: 'VARCHAR' },
      { name: 'type', type: 'VARCHAR' },
      { name: 'source', type: 'VARCHAR' },
      { name: 'feed', type: 'VARCHAR' },
      { name: 'record_ref', type: 'VARCHAR' },
      { name: 'record_id', type: 'VARCHAR' },
      { name: 'date', type: 'DATE' },
      { name: 'end_date', type: 'DATE' },
      { name: 'value', type: 'DOUBLE' },
      { name: 'detail', type: 'VARCHAR' },
    ],
    [
      fact('police_incident', 'police:incidents', 'PI-1', 'police:people:N4', '2026-03-01', null, null, {
        incident_type: 'domestic_abuse',
        role: 'perpetrator',
        incident_ref: 'INC-1',
      }),
      fact('permanent_exclusion', 'schools:suspensions', 'SUS-1', 'schools:pupils:K1', '2026-02-01', null, null, {
        category: 'permanent_exclusion',
      }),
      fact(
        'perinatal_mental_health',
        'health:perinatal_mental_health',
        'PMH-1',
        'health:people:H1',
        '2026-01-15',
        null,
        null,
        {},
      ),
      fact('maternity_booking', 'health:maternity', 'MAT1', 'health:people:H1', '2025-05-01', null, 15, {
        estimated_delivery_date: '2025-11-25',
      }),
      fact('birth', 'health:maternity', 'MAT1', 'health:people:H1', '2025-11-20', null, 2400, {
        smoking_at_delivery: 'Y',
        baby_record_id: 'health:people:H3',
      }),
      fact('health_visitor_review', 'health:health_visiting', 'HV-1', 'health:people:H3', '2025-12-01', null, null, {
        review: 'new_birth',
        status: 'missed',
      }),
      fact('social_care_episode', 'social_care:episodes', 'EP-1', 'schools:pupils:K6', '2026-01-01', null, null, {
        episode_type: 'child_protection_plan',
      }),
      fact('suspension', 'schools:suspensions', 'SUS-2', 'schools:pupils:K6', '2026-05-01', null, 2, {
        category: 'suspension',
      }),
    ],
  );
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'd-stages-'));
  ctx = makeCtx(root);
  await seed(ctx);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Every file under dir as a reader sees it (the published folder is a link to its release under _releases/: listed once). */
async function allFiles(dir: string): Promise<string[]> {
  return (await new LocalObjectStore(dir).list(''))
    .filter((o) => !o.key.startsWith('_releases/'))
    .map((o) => join(dir, ...o.key.split('/')));
}

describe('families, stratify and publish stages', () => {
  it('forms families with localities, scores them, and publishes target lists and Start Well', async () => {
    const fam = await familiesStage(ctx);
    expect(fam.counts).toMatchObject({ families: 2, also_in_memberships: 1, families_unassigned_locality: 1 });
    const families = await readParquet(ctx.stores.curated, keys.curated('families', AS_AT));
    const north = families.find((f) => f.locality === 'North')!;
    expect(north).toMatchObject({
      ward_code: 'E05011352',
      postcode_district: 'M4',
      members: 4,
      children: 2,
      adults: 2,
      members_elsewhere: 1,
    });
    expect(families.find((f) => f.locality === 'Unassigned')!.flags).toContain('postcode_not_in_directory');
    const members = await readParquet(ctx.stores.curated, keys.curated('family_members', AS_AT));
    const dad = members.find((m) => m.person_id === 'P05')!;
    expect(dad).toMatchObject({ membership: 'also_in', role: 'parent', age_band: '35-44' });
    expect(JSON.parse(String(dad.evidence))[0]).toMatchObject({
      kind: 'relationship',
      source: 'schools',
      feed: 'contacts',
      recordRef: 'C5',
    });

    const st = await stratifyStage(ctx);
    expect(st.counts).toMatchObject({ families_scored: 2, families_open_to_statutory: 1 });
    const scores = await readParquet(ctx.stores.curated, keys.curated('scores', AS_AT));
    const s1 = scores.find((s) => s.family_id === north.family_id)!;
    expect(s1.rules_fired).toEqual([
      'SF-EDU-03',
      'SF-EYS-01',
      'SF-EYS-02',
      'SF-EYS-03',
      'SF-EYS-04',
      'SF-HLT-01',
      'SF-DA-01',
    ]);
    expect(s1).toMatchObject({
      score: 3 + 1 + 1 + 1 + 1 + 2 + 3,
      tier: 'high',
      three_needs: true,
      open_to_statutory: false,
      rule_set_version: 'supporting-families@sf-2026.2',
    });

    const pub = await publishAndRelease(ctx, { steps: ['target-lists', 'start-well'] });
    expect(pub.steps).toEqual(['target-lists', 'start-well']);
    expect(pub.counts).toMatchObject({
      target_list_families_ranked: 1,
      target_list_families_statutory: 1,
      start_well_children: 1,
    });
    const csv = await readFile(join(root, 'outputs', `as_at=${AS_AT}`, 'target-lists', 'North.csv'), 'utf8');
    expect(csv.charCodeAt(0)).toBe(0xfeff);
    const lines = csv.slice(1).split('\r\n');
    expect(lines[0]).toBe(
      'rank,family_id,tier,score,headlines_met,reasons,members,flags,ward_code,ward_name,change,previous_tier,previous_rank,months_on_list,lead_outcome,headlines_not_evidenced',
    );
    // the ward's name beside its code (fixtures/lookups/wards.csv)
    expect(lines[1]).toContain(',E05011352,Ancoats & Beswick,');
    expect(lines[1]).toContain(`1,${north.family_id},high,12,`);
    expect(lines[1]).toMatch(/,new,,,1,,/); // a first run: every ranked family is new, one month on the list, no outcome yet
    expect(lines[1]).toContain('police/incidents 2026-03-01 ref PI-1 (P04)');
    const unassignedStat = await readFile(
      join(root, 'outputs', `as_at=${AS_AT}`, 'target-lists', 'Unassigned - open to statutory services.csv'),
      'utf8',
    );
    expect(unassignedStat).toContain('social_care/episodes since 2026-01-01 ref EP-1 (P06)');
    const unassigned = await readFile(
      join(root, 'outputs', `as_at=${AS_AT}`, 'target-lists', 'Unassigned.csv'),
      'utf8',
    );
    expect(unassigned.slice(1).trim().split('\r\n')).toHaveLength(1); // header only: statutory families are never ranked
    for (const f of ['index.html', 'North.html', 'North.xlsx', 'Central.csv', 'South.csv'])
      await readFile(join(root, 'outputs', `as_at=${AS_AT}`, 'target-lists', f));
    const sw = await readFile(join(root, 'outputs', `as_at=${AS_AT}`, 'start-well', 'report.html'), 'utf8');
    expect(findExternalReferences(sw)).toEqual([]);
    expect(
      findExternalReferences(
        await readFile(join(root, 'outputs', `as_at=${AS_AT}`, 'target-lists', 'index.html'), 'utf8'),
      ),
    ).toEqual([]);
    // the single baby is a small number: suppressed everywhere in the published CSV
    const swCsv = (await readFile(join(root, 'outputs', `as_at=${AS_AT}`, 'start-well', 'report.csv'), 'utf8'))
      .slice(1)
      .split('\r\n');
    // (one child: every band would be suppressed, so the widest, the two years as one band, is published)
    expect(swCsv.find((l) => l.startsWith(`${AS_AT},children_under_2,children,North,Jul 2024-Jun 2026,`))).toBe(
      `${AS_AT},children_under_2,children,North,Jul 2024-Jun 2026,,primary,,`,
    );
  });

  it('no clear identifier (name, date of birth, address, postcode) reaches curated tables or outputs', async () => {
    const needles = [
      ...new Set(people.flatMap((p) => [p.forename, p.surname, p.dob, p.line ?? '', p.postcode ?? '']).filter(Boolean)),
    ];
    for (const zone of ['curated', 'outputs']) {
      for (const f of await allFiles(join(root, zone))) {
        const text = f.endsWith('.parquet')
          ? JSON.stringify(
              await readParquet(new LocalObjectStore(join(root, zone)), f.slice(join(root, zone).length + 1)),
            )
          : (await readFile(f)).toString('latin1');
        if (f.endsWith('.xlsx')) continue; // compressed: checked through its CSV twin
        for (const n of needles) {
          // the persons/relationships/facts inputs are the test's own; only what the stages wrote is checked
          if (/persons|relationships|facts/.test(f)) continue;
          expect(text.includes(n), `${n} in ${f}`).toBe(false);
        }
      }
    }
  });

  it('is deterministic: re-running gives byte-identical outputs', async () => {
    const before = new Map<string, Buffer>();
    for (const f of await allFiles(join(root, 'outputs'))) before.set(f, await readFile(f));
    for (const f of ['families', 'family_members', 'scores'])
      before.set(f, await readFile(join(root, 'curated', keys.curated(f as 'families', AS_AT))));
    await familiesStage(ctx);
    await stratifyStage(ctx);
    await publishAndRelease(ctx, { steps: ['target-lists', 'start-well'] });
    for (const f of await allFiles(join(root, 'outputs')))
      expect((await readFile(f)).equals(before.get(f)!), f).toBe(true);
    for (const f of ['families', 'family_members', 'scores'])
      expect(
        (await readFile(join(root, 'curated', keys.curated(f as 'families', AS_AT)))).equals(before.get(f)!),
        f,
      ).toBe(true);
  });

  it('explain prints the whole breakdown of a family, from the curated tables only', async () => {
    const fams = await readParquet(ctx.stores.curated, keys.curated('families', AS_AT));
    const id = String(fams.find((f) => f.locality === 'North')!.family_id);
    const x = await loadExplanation(root, id);
    expect(x.asAt).toBe(AS_AT);
    const text = renderExplanation(x, defaultRuleSet());
    expect(text).toContain(`Family ${id} as at ${AS_AT}`);
    expect(text).toContain(
      'Score 12 = 3 (SF-EDU-03) + 1 (SF-EYS-01) + 1 (SF-EYS-02) + 1 (SF-EYS-03) + 1 (SF-EYS-04) + 2 (SF-HLT-01) + 3 (SF-DA-01)',
    );
    expect(text).toContain('police/incidents police_incident on 2026-03-01, record ref PI-1, person P04');
    expect(text).toContain('P05  parent (lives elsewhere), age band 35-44');
    expect(text).toContain('because: schools/contacts relationship C5: P05 is father of P02');
    expect(text).toContain('Supporting Families three-needs bar: met');
    expect(text).toMatch(/Rules not met\n {2}SF-EDU-01 Persistent absence/);
    for (const p of people) expect(text).not.toContain(p.surname);
    await expect(loadExplanation(root, 'Fnope')).rejects.toThrow(/family Fnope: not in the run as at 2026-06-30/);
    await expect(loadExplanation(root, id, '2020-01-01')).rejects.toThrow(/no run for that date/);
  });

  it('bad curated input gets an error naming the file, row and field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'd-bad-'));
    try {
      const bad = makeCtx(dir);
      await seed(bad);
      await familiesStage(bad);
      await writeParquet(
        bad.stores.curated,
        keys.curated('facts', AS_AT),
        [
          { name: 'type', type: 'VARCHAR' },
          { name: 'source', type: 'VARCHAR' },
          { name: 'feed', type: 'VARCHAR' },
          { name: 'record_ref', type: 'VARCHAR' },
          { name: 'record_id', type: 'VARCHAR' },
          { name: 'date', type: 'VARCHAR' },
        ],
        [
          {
            type: 'suspension',
            source: 'schools',
            feed: 'suspensions',
            record_ref: 'S1',
            record_id: 'schools:pupils:K1',
            date: '2026-01-01',
          },
          {
            type: 'suspension',
            source: 'schools',
            feed: 'suspensions',
            record_ref: 'S2',
            record_id: 'schools:pupils:K1',
            date: '2026-13-01',
          },
        ],
      );
      await expect(stratifyStage(bad)).rejects.toThrow(
        /facts .*facts\/as_at=2026-06-30\/part-00000\.parquet row 2, field date: not a date/,
      );
      await writeParquet(
        bad.stores.curated,
        keys.curated('facts', AS_AT),
        [
          { name: 'type', type: 'VARCHAR' },
          { name: 'source', type: 'VARCHAR' },
          { name: 'feed', type: 'VARCHAR' },
          { name: 'record_ref', type: 'VARCHAR' },
          { name: 'record_id', type: 'VARCHAR' },
          { name: 'date', type: 'VARCHAR' },
        ],
        [
          {
            type: 'parking_ticket',
            source: 'x',
            feed: 'y',
            record_ref: 'S1',
            record_id: 'schools:pupils:K1',
            date: '2026-01-01',
          },
        ],
      );
      await expect(stratifyStage(bad)).rejects.toThrow(/row 1, field type: unknown fact type "parking_ticket"/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('Start Well shows trends when the output root holds several as-at runs', async () => {
    const later = makeCtx(root, '2026-07-31');
    await seed(later);
    await familiesStage(later);
    await stratifyStage(later);
    const r = await publishAndRelease(later, { steps: ['start-well'] });
    expect(r.counts.start_well_trend_runs).toBe(2);
    const page = await readFile(join(root, 'outputs', 'as_at=2026-07-31', 'start-well', 'report.html'), 'utf8');
    expect(page).toContain('Indicator rates, all localities');
    expect(page).toContain('30 Jun 26'); // the earlier run on the trend axis
    await expect(publishStage(later, { steps: ['nope'] })).rejects.toThrow(/unknown step "nope"/);
  });
});
