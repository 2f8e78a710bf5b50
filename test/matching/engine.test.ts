import { describe, expect, it } from 'vitest';
import {
  blockingRefusal,
  countRulePairs,
  enumerateShard,
  layoutShards,
  ruleKeys,
  type ShardInput,
} from '../../matching/blocking.ts';
import { clusterRecords } from '../../matching/clustering.ts';
import { linkRecords } from '../../matching/engine.ts';
import { explainPair } from '../../matching/explain.ts';
import { workerExecutor } from '../../matching/parallel.ts';
import { parseLinkSettings } from '../../matching/settings.ts';
import { buildTable, ColumnInterner } from '../../matching/table.ts';
import { mergePatterns, patternCounts, rng, runEm } from '../../matching/training.ts';

describe('EM', () => {
  it('recovers known m and lambda from simulated comparison vectors (u fixed)', () => {
    // three comparisons, levels: 0 null, 1 exact, 2 close, 3 else
    const mTrue = [
      [0, 0.85, 0.1, 0.05],
      [0, 0.7, 0.2, 0.1],
      [0, 0.9, 0.05, 0.05],
    ];
    const uTrue = [
      [0, 0.01, 0.04, 0.95],
      [0, 0.02, 0.08, 0.9],
      [0, 0.005, 0.015, 0.98],
    ];
    const lambda = 0.2;
    const n = 200_000;
    const C = 3;
    const rand = rng(7);
    const draw = (p: number[]) => {
      let x = rand();
      for (let l = 1; l < p.length; l++) {
        x -= p[l]!;
        if (x < 0) return l;
      }
      return p.length - 1;
    };
    const gamma = new Uint8Array(n * C);
    for (let i = 0; i < n; i++) {
      const match = rand() < lambda;
      for (let c = 0; c < C; c++) gamma[i * C + c] = draw(match ? mTrue[c]! : uTrue[c]!);
    }
    const pat = patternCounts(gamma, new Uint16Array(n).fill(1), n, C, [0]);
    const m = [
      [0, 0.5, 0.3, 0.2],
      [0, 0.5, 0.3, 0.2],
      [0, 0.5, 0.3, 0.2],
    ];
    const res = runEm(pat, 0, C, [true, true, true], m, uTrue, { maxIterations: 200, tolerance: 1e-7 });
    expect(res.converged).toBe(true);
    expect(res.lambda).toBeCloseTo(lambda, 2);
    for (let c = 0; c < C; c++)
      for (let l = 1; l < 4; l++) expect(Math.abs(m[c]![l]! - mTrue[c]![l]!)).toBeLessThan(0.02);
    // the history is recorded and the change shrinks
    expect(res.iterations.length).toBeGreaterThan(1);
    expect(res.iterations.at(-1)!.maxChange).toBeLessThan(res.iterations[0]!.maxChange);
  });
});

describe('EM pattern counts from shards', () => {
  it('summed from consecutive slices of the pairs, are exactly the counts over all of them (order and numbers)', () => {
    const C = 4;
    const n = 50_000;
    const rand = rng(11);
    const gamma = Uint8Array.from({ length: n * C }, () => Math.floor(rand() * rand() * 5));
    const mask = Uint16Array.from({ length: n }, () => 1 + Math.floor(rand() * 7));
    const rules = [0, 2];
    const whole = patternCounts(gamma, mask, n, C, rules);
    for (const cuts of [[n], [1, 17_000, n], [0, 0, 9_999, 10_000, 33_333, n]]) {
      const parts = cuts.map((end, k) => {
        const start = k === 0 ? 0 : cuts[k - 1]!;
        return patternCounts(gamma.subarray(start * C, end * C), mask.subarray(start, end), end - start, C, rules);
      });
      const merged = mergePatterns(parts, C, rules.length + 1);
      expect(merged.size).toBe(whole.size);
      expect(Buffer.from(merged.gamma).equals(Buffer.from(whole.gamma))).toBe(true);
      expect(Array.from(merged.counts)).toEqual(Array.from(whole.counts));
    }
    expect(() => mergePatterns([whole], C, 2)).toThrow(/pattern counts of 3 sessions, expected 2/);
  });
});

function smallTable() {
  const columns = {
    id: ['a', 'b', 'c', 'd', 'e', 'f', 'g'],
    surname: ['SMITH', 'SMITH', 'SMITH', 'JONES', 'JONES', null, 'BROWN'],
    dob: ['2001-01-01', '2001-01-01', '1999-05-05', '2001-01-01', '1980-02-02', '2001-01-01', null],
  };
  return buildTable([{ name: 't', columns }], 'id', ['surname', 'dob'], new Map());
}

describe('blocking', () => {
  it('counts pairs per rule from block sizes, and the union scores each pair once with the first rule that found it', () => {
    const t = smallTable();
    const k1 = ruleKeys(t, ['surname']);
    const k2 = ruleKeys(t, ['dob']);
    expect(countRulePairs(k1, t.source, 1, 'dedupe_only', 'surname')).toMatchObject({
      pairs: 4,
      blocks: 3,
      largestBlocks: [3, 2, 1],
    });
    expect(countRulePairs(k2, t.source, 1, 'dedupe_only', 'dob').pairs).toBe(6 + 0 + 0);
    const input: ShardInput = {
      n: t.n,
      source: t.source,
      linkType: 'dedupe_only',
      ruleKeys: [k1, k2],
      comparisons: [],
    };
    const all = enumerateShard(input, 0, 1);
    const pairs = Array.from(
      { length: all.count },
      (_, i) => `${t.ids[all.l[i]!]}${t.ids[all.r[i]!]}:${all.mask[i]}`,
    ).sort();
    // surname pairs: ab ac bc de; dob 2001-01-01 block {a,b,d,f}: ab (already) ad af bd bf df
    expect(pairs).toEqual(['ab:3', 'ac:1', 'ad:2', 'af:2', 'bc:1', 'bd:2', 'bf:2', 'de:1', 'df:2']);
    // sharding by key hash partitions the same pairs
    const sharded = [0, 1, 2, 3]
      .flatMap((s) => {
        const r = enumerateShard(input, s, 4);
        return Array.from({ length: r.count }, (_, i) => `${t.ids[r.l[i]!]}${t.ids[r.r[i]!]}:${r.mask[i]}`);
      })
      .sort();
    expect(sharded).toEqual(pairs);
    // and with the precomputed (shard, key) layout the shards read only their own records
    const laid = { ...input, layout: layoutShards([k1, k2], 4) };
    const fromLayout = [0, 1, 2, 3]
      .flatMap((s) => {
        const r = enumerateShard(laid, s, 4);
        return Array.from({ length: r.count }, (_, i) => `${t.ids[r.l[i]!]}${t.ids[r.r[i]!]}:${r.mask[i]}`);
      })
      .sort();
    expect(fromLayout).toEqual(pairs);
  });

  it('link_only counts and produces only pairs across the two inputs', () => {
    const a = { id: ['1', '2', '3'], k: ['X', 'X', 'Y'] };
    const b = { id: ['1', '2'], k: ['X', 'Y'] };
    const t = buildTable(
      [
        { name: 'a', columns: a },
        { name: 'b', columns: b },
      ],
      'id',
      ['k'],
      new Map(),
    );
    const keys = ruleKeys(t, ['k']);
    expect(countRulePairs(keys, t.source, 2, 'link_only', 'k').pairs).toBe(2 * 1 + 1 * 1);
    const res = enumerateShard(
      { n: t.n, source: t.source, linkType: 'link_only', ruleKeys: [keys], comparisons: [] },
      0,
      1,
    );
    expect(res.count).toBe(3);
    for (let i = 0; i < res.count; i++) expect(t.source[res.l[i]!]).not.toBe(t.source[res.r[i]!]);
  });

  it('transforms rule terms (prefix, soundex, year)', () => {
    const t = buildTable(
      [
        {
          name: 't',
          columns: {
            id: ['1', '2', '3'],
            s: ['ROBERT', 'RUPERT', 'ROBIN'],
            d: ['2001-01-01', '2001-12-31', '2002-01-01'],
          },
        },
      ],
      'id',
      ['s', 'd'],
      new Map(),
    );
    expect(countRulePairs(ruleKeys(t, ['s:soundex']), t.source, 1, 'dedupe_only', '').pairs).toBe(1);
    expect(countRulePairs(ruleKeys(t, ['s:first3']), t.source, 1, 'dedupe_only', '').pairs).toBe(1);
    expect(countRulePairs(ruleKeys(t, ['d:year']), t.source, 1, 'dedupe_only', '').pairs).toBe(1);
    expect(() => ruleKeys(t, ['s:metaphone3'])).toThrow(/unknown transform "metaphone3"/);
  });

  it('builds the same table from interned columns as from raw ones (codes, values, their order)', () => {
    const raw = {
      id: ['a', 'b', 'c', 'd', 'e', 'f'],
      surname: [' Smith', 'SMITH', null, 'jones ', '', 'Smith'],
      dob: ['2001-02-03', null, '2001-02-03', ' 1999-12-31', '1999-12-31', 'x'],
    };
    const intern = (values: Array<string | null>) => {
      const c = new ColumnInterner();
      for (const v of values) c.push(v);
      return c.finish();
    };
    const norm = new Map([['surname', (v: string) => v.toUpperCase()]]);
    const fromRaw = buildTable([{ name: 't', columns: raw }], 'id', ['surname', 'dob'], norm);
    const fromInterned = buildTable(
      [{ name: 't', columns: { id: raw.id, surname: intern(raw.surname), dob: intern(raw.dob) } }],
      'id',
      ['surname', 'dob'],
      norm,
    );
    expect(fromInterned).toEqual(fromRaw);
    expect(fromInterned.columns.get('surname')!.values).toEqual(['SMITH', 'JONES']);
    expect(Array.from(fromInterned.columns.get('surname')!.codes)).toEqual([0, 0, -1, 1, -1, 0]);
    expect(() =>
      buildTable([{ name: 't', columns: { id: intern(raw.id), surname: raw.surname } }], 'id', ['surname'], norm),
    ).toThrow(/the unique id column "id" must not be interned/);
  });

  it('refuses, before materialising, a rule that would produce too many pairs per record', async () => {
    const n = 400;
    const columns = {
      id: Array.from({ length: n }, (_, i) => String(i)),
      state: Array.from({ length: n }, () => 'NSW'),
      name: Array.from({ length: n }, (_, i) => `N${i % 37}`),
    };
    const settings = parseLinkSettings({
      uniqueIdColumn: 'id',
      comparisons: [{ column: 'name', type: 'exact' }],
      blockingRules: [['name'], ['state']],
    });
    // [name]: 37 blocks of ~11 records, ~5 pairs per record: allowed; [state]: one block of all 400, 199.5 per record
    await expect(linkRecords([{ name: 'x.csv', columns }], settings)).rejects.toThrow(
      /blocking rule \[state\] would produce 79,800 candidate pairs \(199\.5 per record of 400; its largest block has 400 records\): more than maxPairsPerRecord 100: make the rule stricter/,
    );
    // raising the per-record limit lets it run; an absolute cap, when set, still holds
    await expect(
      linkRecords([{ name: 'x.csv', columns }], { ...settings, maxPairsPerRecord: 200 }),
    ).resolves.toBeDefined();
    await expect(
      linkRecords([{ name: 'x.csv', columns }], { ...settings, maxPairsPerRecord: 200, maxPairsPerRule: 10_000 }),
    ).rejects.toThrow(/more than maxPairsPerRule 10,000/);
    await expect(
      linkRecords([{ name: 'x.csv', columns }], { ...settings, maxPairsPerRecord: 200, maxBlockRecords: 399 }),
    ).rejects.toThrow(/a block of more than maxBlockRecords 399/);
  });

  it('holds a sound rule to the same limits at one council and at ten (the guard scales with the input)', () => {
    const limits = parseLinkSettings({
      uniqueIdColumn: 'id',
      comparisons: [{ column: 'name', type: 'exact' }],
      blockingRules: [['name']],
    });
    // forename & surname & postcode district as measured: 12,061,562 pairs for 891,086 records at 100k families in
    // one council (largest block 773); 251,654,049 for ~8.94 M records at 1M in ten (largest block 1,329)
    const oneCouncil = { rule: 'f&s&d', pairs: 12_061_562, blocks: 1, largestBlocks: [773] };
    const tenCouncils = { rule: 'f&s&d', pairs: 251_654_049, blocks: 1, largestBlocks: [1_329] };
    expect(blockingRefusal('blocking', oneCouncil, 891_086, limits)).toBeUndefined();
    expect(blockingRefusal('blocking', tenCouncils, 8_940_000, limits)).toBeUndefined();
    // the absolute cap this guard replaced (100 M) refused the ten councils
    expect(blockingRefusal('blocking', tenCouncils, 8_940_000, { ...limits, maxPairsPerRule: 100_000_000 })).toMatch(
      /more than maxPairsPerRule 100,000,000/,
    );
    // a rule on a column with few values (one block per council) grows with the square of each council
    const loose = { rule: 'council', pairs: (10 * (894_000 * 893_999)) / 2, blocks: 10, largestBlocks: [894_000] };
    expect(blockingRefusal('blocking', loose, 8_940_000, limits)).toMatch(/more than maxPairsPerRecord 100/);
    // one oversized block in an otherwise sound rule (a default value, e.g. a placeholder postcode)
    const oneBigBlock = { rule: 'f&s&d', pairs: 251_654_049 + 60_000_000, blocks: 1, largestBlocks: [11_000] };
    expect(blockingRefusal('blocking', oneBigBlock, 8_940_000, limits)).toMatch(
      /a block of more than maxBlockRecords 10,000/,
    );
  });
});

describe('clustering', () => {
  const links = (rows: Array<[number, number, number]>) => ({
    count: rows.length,
    l: Int32Array.from(rows.map((r) => r[0])),
    r: Int32Array.from(rows.map((r) => r[1])),
    weight: Float64Array.from(rows.map((r) => Math.log2(r[2] / (1 - r[2])))),
    probability: Float64Array.from(rows.map((r) => r[2])),
  });

  it('never merges clusters holding different strong identifier tokens, and reports the refusal', () => {
    // 0-1 share token A; 2-3 share token B; a link 1-2 would chain them
    const tokens = Int32Array.from([0, 0, 1, 1]);
    const res = clusterRecords(
      4,
      links([
        [0, 1, 0.999],
        [2, 3, 0.999],
        [1, 2, 0.9999],
      ]),
      { strongIdentifiers: [{ column: 'nhs', codes: tokens }], singleLinkMinProbability: 0.5 },
    );
    expect(Array.from(res.cluster)).toEqual([0, 0, 2, 2]);
    expect(res.refused).toHaveLength(1);
    expect(res.refused[0]).toMatchObject({
      recordL: 1,
      recordR: 2,
      reason: 'different_strong_identifier',
      column: 'nhs',
    });
  });

  it('never joins records known to be different people, even through other records', () => {
    const none = { strongIdentifiers: [], singleLinkMinProbability: 0.5 };
    // 0 (mother) and 2 (baby) are known different; 1 links strongly to both
    const res = clusterRecords(
      3,
      links([
        [0, 1, 0.999],
        [1, 2, 0.99],
      ]),
      { ...none, cannotLink: [[0, 2]] },
    );
    expect(Array.from(res.cluster)).toEqual([0, 0, 2]);
    expect(res.refused[0]).toMatchObject({ recordL: 1, recordR: 2, reason: 'known_different_people' });
  });

  it('refuses the links of a record without an identifier that fits two identifier holders about equally', () => {
    // record 2 has no token and links to 0 (token A) and 1 (token B) with near-equal weight
    const tokens = Int32Array.from([0, 1, -1]);
    const opts = {
      strongIdentifiers: [{ column: 'nhs', codes: tokens }],
      singleLinkMinProbability: 0.5,
      ambiguityMarginWeight: 4,
    };
    const res = clusterRecords(
      3,
      links([
        [0, 2, 0.999],
        [1, 2, 0.998],
      ]),
      opts,
    );
    expect(Array.from(res.cluster)).toEqual([0, 1, 2]);
    expect(res.refused.map((r) => r.reason)).toEqual(['ambiguous', 'ambiguous']);
    // one clearly stronger: linked to it
    const clear = clusterRecords(
      3,
      links([
        [0, 2, 0.99999],
        [1, 2, 0.9],
      ]),
      opts,
    );
    expect(Array.from(clear.cluster)).toEqual([0, 1, 0]);
    expect(clear.refused[0]).toMatchObject({ reason: 'different_strong_identifier' });
  });

  it('resolves an ambiguous record when all but one candidate person is known to be someone else', () => {
    // 2 (a parent's school contact, no token) fits 0 (parent, token A) and 1 (child, token B) about equally;
    // 3 (the pupil the contact is about) is the child (links strongly to 1) and is known different from 2
    const tokens = Int32Array.from([0, 1, -1, -1]);
    const opts = {
      strongIdentifiers: [{ column: 'nhs', codes: tokens }],
      singleLinkMinProbability: 0.5,
      ambiguityMarginWeight: 4,
    };
    const l = links([
      [0, 2, 0.999],
      [1, 2, 0.998],
      [1, 3, 0.99999],
    ]);
    const res = clusterRecords(4, l, { ...opts, cannotLink: [[2, 3]] });
    expect(Array.from(res.cluster)).toEqual([0, 1, 0, 1]);
    expect(res.refused).toEqual([expect.objectContaining({ recordL: 1, recordR: 2, reason: 'ambiguous' })]);
    // without that knowledge both stay refused
    const blind = clusterRecords(4, l, opts);
    expect(Array.from(blind.cluster)).toEqual([0, 1, 2, 1]);
    expect(blind.refused.map((r) => r.reason)).toEqual(['ambiguous', 'ambiguous']);
  });

  it('never puts a parent in a person born less than the age gap before their child', () => {
    // 2 (a father's school contact, no DOB) links about equally to 0 (the father, born day 0) and 1 (his
    // same-named baby, born ~30 years later); 3 is the pupil the contact is about (born ~20 years after 0)
    const day = 365.25;
    const born = Float64Array.from([0, 30 * day, Number.NaN, 20 * day]);
    const ageOrder = { born, pairs: [[2, 3]] as Array<[number, number]>, minGapDays: 12 * day };
    const none = { strongIdentifiers: [], singleLinkMinProbability: 0.5 };
    const res = clusterRecords(
      4,
      links([
        [1, 2, 0.9999],
        [0, 2, 0.999],
      ]),
      { ...none, ageOrder },
    );
    expect(Array.from(res.cluster)).toEqual([0, 1, 0, 3]);
    expect(res.refused).toEqual([expect.objectContaining({ recordL: 1, recordR: 2, reason: 'implausible_age' })]);
    // the constraint also holds through the child's side: the pupil cannot join someone born before the father
    const pupil = clusterRecords(
      4,
      links([
        [0, 2, 0.999],
        [3, 1, 0.99],
      ]),
      { ...none, ageOrder: { ...ageOrder, born: Float64Array.from([0, -5 * day, Number.NaN, Number.NaN]) } },
    );
    expect(Array.from(pupil.cluster)).toEqual([0, 1, 0, 3]);
    expect(pupil.refused[0]).toMatchObject({ reason: 'implausible_age' });
    // without it the stronger (wrong) link wins
    expect(
      Array.from(
        clusterRecords(
          4,
          links([
            [1, 2, 0.9999],
            [0, 2, 0.999],
          ]),
          none,
        ).cluster,
      ),
    ).toEqual([0, 0, 0, 3]);
  });

  it('a merge of larger clusters resting on one link must pass the stricter bar; two links suffice', () => {
    const none = { strongIdentifiers: [], singleLinkMinProbability: 0.99 };
    // chain 0-1 (strong), 1-2 weak single link
    const chain = clusterRecords(
      3,
      links([
        [0, 1, 0.999],
        [1, 2, 0.9],
      ]),
      none,
    );
    expect(Array.from(chain.cluster)).toEqual([0, 0, 2]);
    expect(chain.refused[0]).toMatchObject({ reason: 'single_weak_link', linksBetween: 1, sizeL: 2, sizeR: 1 });
    // the same weak link, corroborated by a second link to the cluster: merged
    const tri = clusterRecords(
      3,
      links([
        [0, 1, 0.999],
        [1, 2, 0.9],
        [0, 2, 0.8],
      ]),
      none,
    );
    expect(Array.from(tri.cluster)).toEqual([0, 0, 0]);
    expect(tri.refused).toHaveLength(0);
    // a strong single link passes
    expect(
      Array.from(
        clusterRecords(
          3,
          links([
            [0, 1, 0.999],
            [1, 2, 0.995],
          ]),
          none,
        ).cluster,
      ),
    ).toEqual([0, 0, 0]);
    // two singletons: the ordinary threshold is enough
    expect(Array.from(clusterRecords(2, links([[0, 1, 0.6]]), none).cluster)).toEqual([0, 0]);
    expect(chain.sizeDistribution).toEqual({ 1: 1, 2: 1 });
  });
});

function population(seed: number, people: number) {
  const rand = rng(seed);
  const first = [
    'OLIVER',
    'GEORGE',
    'AMELIA',
    'ISLA',
    'HARRY',
    'JACK',
    'MIA',
    'NOAH',
    'EMILY',
    'LILY',
    'THOMAS',
    'SOPHIE',
  ];
  const last = [
    'SMITH',
    'JONES',
    'TAYLOR',
    'BROWN',
    'WILSON',
    'EVANS',
    'KHAN',
    'PATEL',
    'WALKER',
    'WRIGHT',
    'HUGHES',
    'GREEN',
    'HALL',
    'WOOD',
  ];
  const cols = {
    id: [] as string[],
    first: [] as string[],
    last: [] as string[],
    dob: [] as string[],
    pc: [] as string[],
    person: [] as string[],
  };
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
  const typo = (s: string) => {
    const i = Math.floor(rand() * s.length);
    return s.slice(0, i) + String.fromCharCode(65 + Math.floor(rand() * 26)) + s.slice(i + 1);
  };
  let id = 0;
  for (let p = 0; p < people; p++) {
    const f = pick(first);
    const l = pick(last);
    const dob = `${1950 + Math.floor(rand() * 60)}-${String(1 + Math.floor(rand() * 12)).padStart(2, '0')}-${String(1 + Math.floor(rand() * 28)).padStart(2, '0')}`;
    const pc = `M${1 + Math.floor(rand() * 40)} ${1 + Math.floor(rand() * 9)}${pick(['AB', 'CD', 'EF', 'GH'])}`;
    const copies = 1 + Math.floor(rand() * 3);
    for (let k = 0; k < copies; k++) {
      cols.id.push(`r${id++}`);
      cols.first.push(rand() < 0.15 ? typo(f) : f);
      cols.last.push(rand() < 0.15 ? typo(l) : l);
      cols.dob.push(rand() < 0.1 ? dob.slice(0, 8) + '15' : dob);
      cols.pc.push(rand() < 0.1 ? '' : pc);
      cols.person.push(`p${p}`);
    }
  }
  return cols;
}

const popSettings = {
  uniqueIdColumn: 'id',
  comparisons: [
    { column: 'first', type: 'name' },
    { column: 'last', type: 'name' },
    { column: 'dob', type: 'date' },
    { column: 'pc', type: 'postcode_uk' },
  ],
  blockingRules: [['first', 'last'], ['dob'], ['pc', 'first:first1']],
  deterministicRules: [['first', 'last', 'dob']],
  uSamplePairs: 20_000,
  shards: 5,
};

describe('the engine end to end (in memory)', () => {
  it('is deterministic: same seed, same weights, model and clusters, in-process or on worker threads', async () => {
    const cols = population(3, 400);
    const settings = parseLinkSettings(popSettings);
    const a = await linkRecords([{ name: 'p.csv', columns: cols }], settings);
    const b = await linkRecords([{ name: 'p.csv', columns: cols }], settings);
    const ex = workerExecutor(2);
    let c;
    try {
      c = await linkRecords([{ name: 'p.csv', columns: cols }], settings, { executor: ex });
    } finally {
      await ex.close!();
    }
    const strip = (m: typeof a.model) => JSON.stringify({ ...m, timingsMs: null });
    expect(strip(b.model)).toBe(strip(a.model));
    expect(strip(c.model)).toBe(strip(a.model));
    expect(Array.from(b.pairs.weight)).toEqual(Array.from(a.pairs.weight));
    expect(Array.from(c.pairs.weight)).toEqual(Array.from(a.pairs.weight));
    expect(Array.from(c.clustering.cluster)).toEqual(Array.from(a.clustering.cluster));
    // a different seed samples different pairs for the non-exact levels' u (the exact level's u is counted, not sampled)
    const d = await linkRecords([{ name: 'p.csv', columns: cols }], parseLinkSettings({ ...popSettings, seed: 99 }));
    const us = (m: typeof a.model) => JSON.stringify(m.comparisons.map((c) => c.levels.slice(2).map((l) => l.u)));
    expect(us(d.model)).not.toBe(us(a.model));
    expect(d.model.comparisons.map((c) => c.levels[1]!.u)).toEqual(a.model.comparisons.map((c) => c.levels[1]!.u));
  });

  it('finds the people in a noisy population, trains by EM, and explains every pair', async () => {
    const cols = population(11, 600);
    const res = await linkRecords([{ name: 'p.csv', columns: cols }], parseLinkSettings(popSettings));
    const m = res.model;
    expect(m.prior.source).toBe('deterministic_rules');
    expect(m.em.sessions).toHaveLength(3);
    expect(m.em.sessions[0]!.fixedComparisons).toEqual(['first', 'last']);
    expect(m.comparisons.every((c) => c.mSource === 'em')).toBe(true);
    // exact agreement is evidence for a match, disagreement against
    for (const c of m.comparisons) {
      expect(c.levels[1]!.weight).toBeGreaterThan(3);
      // (a level never seen among matches is never evidence for one: the test postcodes are all in area M)
      expect(c.levels.at(-1)!.weight).toBeLessThanOrEqual(0);
      if (c.name !== 'pc') expect(c.levels.at(-1)!.weight).toBeLessThan(-3);
    }
    let tp = 0;
    let fp = 0;
    for (let p = 0; p < res.pairs.count; p++) {
      if (res.pairs.weight[p]! < res.thresholdWeight) continue;
      if (cols.person[res.pairs.l[p]!] === cols.person[res.pairs.r[p]!]) tp++;
      else fp++;
    }
    const truePairs = new Map<string, number>();
    for (const p of cols.person) truePairs.set(p, (truePairs.get(p) ?? 0) + 1);
    const total = [...truePairs.values()].reduce((s, k) => s + (k * (k - 1)) / 2, 0);
    expect(tp / (tp + fp)).toBeGreaterThan(0.97);
    expect(tp / total).toBeGreaterThan(0.9);
    // the explanation adds up to the pair's weight
    const e = explainPair(res, 0, { includeValues: true });
    expect(e.cumulative.at(-1)).toBeCloseTo(e.matchWeight, 9);
    expect(e.comparisons.map((x) => x.comparison)).toEqual(['first', 'last', 'dob', 'pc']);
    expect(e.comparisons[0]!.valueL).toBe(cols.first[res.pairs.l[0]!]);
    // no value from the data in the model
    const json = JSON.stringify(m);
    for (const v of ['SMITH', 'OLIVER', '19']) expect(json.includes(`"${v}`)).toBe(false);
  });

  it('trains m from clerical labels when asked', async () => {
    const cols = population(5, 200);
    const labels = [];
    for (let i = 0; i + 1 < cols.id.length; i++)
      if (cols.person[i] === cols.person[i + 1]) labels.push({ idL: cols.id[i]!, idR: cols.id[i + 1]!, match: true });
    const res = await linkRecords(
      [{ name: 'p.csv', columns: cols }],
      parseLinkSettings({ ...popSettings, labelledPairs: 'labels.csv' }),
      { labels },
    );
    expect(res.model.comparisons.every((c) => c.mSource === 'labels')).toBe(true);
    // EM runs too, and its m is kept beside the labels' (the same m as a run without labels)
    const em = await linkRecords([{ name: 'p.csv', columns: cols }], parseLinkSettings(popSettings));
    expect(res.model.em.sessions.length).toBeGreaterThan(0);
    expect(res.model.comparisons.map((c) => c.levels.map((l) => l.mEm))).toEqual(
      em.model.comparisons.map((c) => c.levels.map((l) => (l.m === null ? null : l.m))),
    );
    expect(res.model.labels).toEqual({ labelledPairs: 'labels.csv', matches: labels.length });
    expect(res.model.comparisons[2]!.levels[1]!.m).toBeGreaterThan(0.7);
    expect(res.model.comparisons[2]!.levels[1]!.m).toBeLessThan(0.9);
  });

  it('uses fixed m and u from the settings', async () => {
    const cols = population(5, 100);
    const s = parseLinkSettings({
      ...popSettings,
      comparisons: [
        { column: 'first', type: 'exact', m: [0.9, 0.1], u: [0.05, 0.95] },
        ...popSettings.comparisons.slice(1),
      ],
    });
    const res = await linkRecords([{ name: 'p.csv', columns: cols }], s);
    expect(res.model.comparisons[0]).toMatchObject({ mSource: 'fixed', uSource: 'fixed' });
    expect(res.model.comparisons[0]!.levels[1]!.weight).toBeCloseTo(Math.log2(0.9 / 0.05), 9);
  });
});

describe('threshold sensitivity', () => {
  it('re-clusters at any threshold as a clustering of its links from scratch, whatever order thresholds are asked in', async () => {
    const cols = population(23, 700);
    // a strong identifier most records carry (some with another person's token), and known relationships
    const rand = rng(5);
    const tok = cols.person.map((p) => (rand() < 0.3 ? '' : rand() < 0.03 ? `t${Math.floor(rand() * 700)}` : `t${p}`));
    const n = cols.id.length;
    const cannotLink: Array<[string, string]> = [];
    const olderThan: Array<[string, string]> = [];
    for (let k = 0; k < 400; k++) {
      const a = Math.floor(rand() * n);
      const b = Math.floor(rand() * n);
      if (cols.person[a] === cols.person[b]) continue;
      cannotLink.push([cols.id[a]!, cols.id[b]!]);
      if (cols.dob[a]! < cols.dob[b]!) olderThan.push([cols.id[a]!, cols.id[b]!]);
    }
    const settings = parseLinkSettings({
      ...popSettings,
      clustering: {
        strongIdentifiers: ['tok'],
        singleLinkMinProbability: 0.95,
        ambiguityMarginWeight: 2,
        ageOrder: { column: 'dob', minGapYears: 12 },
      },
    });
    const link = () => linkRecords([{ name: 'p.csv', columns: { ...cols, tok } }], settings, { cannotLink, olderThan });
    const down = await link();
    const up = await link();
    expect(new Set(down.clustering.refused.map((r) => r.reason)).size).toBeGreaterThan(2);
    const offsets = Array.from({ length: 49 }, (_, i) => i / 2 - 12);
    const downward = new Map(offsets.map((o) => [o, down.clusterAt(down.thresholdWeight + o)]));
    const upward = new Map([...offsets].reverse().map((o) => [o, up.clusterAt(up.thresholdWeight + o)]));
    const persons = new Set<number>();
    for (const o of offsets) {
      const t = down.thresholdWeight + o;
      const a = downward.get(o)!;
      expect(upward.get(o), `offset ${o}`).toEqual(a);
      // the same links clustered with no order given (clusterRecords sorts them itself)
      const p = down.pairs;
      const idx = Array.from({ length: p.count }, (_, k) => k).filter((k) => p.weight[k]! >= t && p.vetoed[k] === 0);
      const links = {
        count: idx.length,
        l: Int32Array.from(idx, (k) => p.l[k]!),
        r: Int32Array.from(idx, (k) => p.r[k]!),
        weight: Float64Array.from(idx, (k) => p.weight[k]!),
        probability: Float64Array.from(idx, (k) => p.probability[k]!),
      };
      const own = clusterRecords(n, links, down.clusterOptions);
      expect(own, `offset ${o}`).toEqual(a);
      persons.add(new Set(a.cluster).size);
    }
    expect(persons.size).toBeGreaterThan(10);
  });
});
