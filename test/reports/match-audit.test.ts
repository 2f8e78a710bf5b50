import { DuckDBInstance } from '@duckdb/node-api';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMatchAuditReport, matchAuditKeys } from '../../pipelines/reports/match-audit/build.ts';
import type { MatchAuditReport } from '../../pipelines/reports/match-audit/model.ts';
import { findExternalReferences } from '../../pipelines/reports/html/index.ts';
import { AS_AT, THRESHOLD, buildAuditFixture, removeAuditFixtures, type Fixture } from './match-audit-fixture.ts';

/** Independent recomputation: plain SQL over the curated Parquet files and a plain read of the counts JSON. */
async function sql(query: string): Promise<Array<Record<string, unknown>>> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const res = await conn.runAndReadAll(query);
    return res
      .getRowObjects()
      .map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

let fx: Fixture;
let report: MatchAuditReport;
let curated: (table: string) => string;

beforeAll(async () => {
  fx = await buildAuditFixture();
  report = (await buildMatchAuditReport(fx.ctx)).report;
  curated = (t) => `read_parquet('${join(fx.root, 'out', 'curated', t, `as_at=${AS_AT}`, 'part-00000.parquet')}')`;
});

afterAll(removeAuditFixtures);

describe('match audit report: counts agree with the curated tables (recomputed independently)', () => {
  it('inputs: per-file and total counts as the validation counts files say, and they reconcile', async () => {
    const files = ['health/people', 'health/maternity', 'schools/pupils', 'police/people', 'social_care/people'];
    let rows = 0,
      accepted = 0,
      quarantined = 0;
    for (const f of files) {
      const c = JSON.parse(
        await readFile(join(fx.root, 'out', 'secure', `as_at=${AS_AT}`, 'validated', f, '_counts.json'), 'utf8'),
      ) as { files: Array<{ rows: number; accepted: number; quarantined: number }> };
      for (const e of c.files) {
        rows += e.rows;
        accepted += e.accepted;
        quarantined += e.quarantined;
      }
    }
    expect(report.inputs.totals).toMatchObject({ files: 5, rows, accepted, quarantined });
    expect(report.inputs.reconciles).toBe(true);
    expect(report.inputs.files.map((f) => f.sha256.length)).toEqual([64, 64, 64, 64, 64]);
    expect(report.inputs.ignored).toEqual([
      { key: 'health/people/dt=2026-02-01/people.csv', why: 'superseded_snapshot' },
      { key: 'health/people/dt=2026-04-30/people.csv', why: 'after_as_at' },
    ]);
  });

  it('records, persons, links and pairs', async () => {
    const secure = `read_parquet('${join(fx.root, 'out', 'secure', `as_at=${AS_AT}`, 'person-records.parquet')}')`;
    const [r] =
      await sql(`SELECT (SELECT count(*) FROM ${curated('records')}) AS records, (SELECT count(DISTINCT person_id) FROM ${curated('persons')}) AS persons, (SELECT count(*) FROM ${curated('links')}) AS links, (SELECT count(*) FROM ${curated('pairs')}) AS pairs,
      (SELECT count(*) FROM ${curated('links')} k JOIN ${secure} a ON a.record_id = k.record_id_l JOIN ${secure} b ON b.record_id = k.record_id_r
        WHERE (a.nhs_number_token = b.nhs_number_token AND a.date_of_birth = b.date_of_birth) OR (a.upn_token = b.upn_token AND a.date_of_birth = b.date_of_birth) OR a.nhs_number_token = b.nhs_number_token) AS det`);
    expect(Number(r!.det)).toBeGreaterThan(0);
    expect(report.linkage).toMatchObject({
      records: r!.records,
      persons: r!.persons,
      links: r!.links,
      pairsScored: r!.pairs,
      deterministicLinks: Number(r!.det),
      probabilisticLinks: Number(r!.links) - Number(r!.det),
    });
    expect(report.linkage.byDeterministicRule.skippedRules).toEqual(['surname:soundex & date_of_birth']);
  });

  it('records per source and the share linked to another source', async () => {
    const rows = await sql(`
      WITH rp AS (SELECT r.record_id, r.source, p.person_id FROM ${curated('records')} r JOIN ${curated('persons')} p USING (record_id)),
           ps AS (SELECT person_id, count(DISTINCT source) AS n_sources, count(*) AS n_records FROM rp GROUP BY person_id)
      SELECT rp.source, count(*) AS records, sum(CASE WHEN ps.n_sources > 1 THEN 1 ELSE 0 END) AS other, sum(CASE WHEN ps.n_records > 1 THEN 1 ELSE 0 END) AS anyrec
      FROM rp JOIN ps USING (person_id) GROUP BY rp.source ORDER BY rp.source`);
    expect(
      report.linkage.bySource.map((s) => ({
        source: s.source,
        records: s.records,
        other: s.linkedToOtherSource,
        anyrec: s.linkedToAnyRecord,
      })),
    ).toEqual(
      rows.map((x) => ({ source: x.source, records: x.records, other: Number(x.other), anyrec: Number(x.anyrec) })),
    );
    for (const s of report.linkage.bySource)
      expect(s.shareLinkedToOtherSource).toBeCloseTo(s.linkedToOtherSource / s.records, 12);
  });

  it('links by rule, the histogram total and the pairs at the threshold', async () => {
    const byKey = await sql(
      `SELECT match_key, count(*) AS n FROM ${curated('links')} GROUP BY match_key ORDER BY match_key`,
    );
    expect(Object.fromEntries(report.linkage.linksByRule.map((x) => [x.matchKey, x.links]))).toEqual(
      Object.fromEntries(byKey.map((x) => [x.match_key, x.n])),
    );
    const [p] = await sql(
      `SELECT count(*) AS n, sum(CASE WHEN match_weight >= ${THRESHOLD} THEN 1 ELSE 0 END) AS above FROM ${curated('pairs')}`,
    );
    expect(report.linkage.weightHistogram.bins.reduce((s, b) => s + b.count, 0)).toBe(p!.n);
    expect(
      report.linkage.weightHistogram.bins.filter((b) => b.from >= THRESHOLD).reduce((s, b) => s + b.count, 0),
    ).toBe(Number(p!.above));
    // the fixture's match stage recorded no sensitivity: none is made up from the pairs
    expect(report.linkage.sensitivity).toEqual([]);
  });

  it('the pairs counted and binned in DuckDB give the histogram of the pairs held in JS (the old path)', async () => {
    const { loadPairTables, summarisePairs } = await import('../../pipelines/reports/match-audit/load.ts');
    const { weightHistogram } = await import('../../pipelines/reports/match-audit/compute.ts');
    const { writeParquet } = await import('../../pipelines/io/parquet.ts');
    const { keys } = await import('../../pipelines/layout.ts');
    const store = fx.stores.curated;
    const recordsPath = await store.localPath(keys.curated('records', AS_AT));
    // the fixture's pairs, and a table of weights at the edges: no weight, infinite, on and past both ends of the
    // axis, negative and fractional, at several thresholds
    const { LocalObjectStore } = await import('../../pipelines/io/local-object-store.ts');
    // (its own store: the curated zone is the privacy scan's, and the rebuilt report below must not see it)
    const edges = new LocalObjectStore(join(fx.root, 'edge-pairs'));
    const edgeKey = 'edge-pairs/part-00000.parquet';
    // (as text, which both paths cast: NaN and the infinities, and a value that is no number)
    const weights = [null, 'NaN', 'inf', '-inf', 'n/a', -40, -19, -18.5, -0.25, 0, 5.999, 6, 6.5, 40.9, 41, 41.1, 500];
    await writeParquet(
      edges,
      edgeKey,
      [
        { name: 'record_id_l', type: 'VARCHAR' },
        { name: 'record_id_r', type: 'VARCHAR' },
        { name: 'match_weight', type: 'VARCHAR' },
        { name: 'match_key', type: 'VARCHAR' },
      ],
      weights.map((w, i) => ({
        record_id_l: `a${i}`,
        record_id_r: `b${i}`,
        match_weight: w === null ? null : String(w),
        match_key: 'k',
      })),
    );
    for (const [from, key, threshold] of [
      [store, keys.curated('pairs', AS_AT), THRESHOLD],
      [edges, edgeKey, THRESHOLD],
      [edges, edgeKey, -3.5],
      [edges, edgeKey, 12.25],
    ] as const) {
      const [held] = await loadPairTables(from, [key], recordsPath, new Set());
      const summed = await summarisePairs(from, key, threshold);
      expect(summed.count).toBe(held!.count);
      expect(summed.weightHistogram, `${key} at ${threshold}`).toEqual(weightHistogram(held!, threshold));
    }
    expect(report.linkage.pairsScored).toBe(
      (await summarisePairs(store, keys.curated('pairs', AS_AT), THRESHOLD)).count,
    );
  });

  it('cluster sizes, persons in more than one family, and the planted suspicious persons', async () => {
    const sizes = await sql(
      `SELECT n AS size, count(*) AS persons FROM (SELECT person_id, count(*) AS n FROM ${curated('persons')} GROUP BY person_id) GROUP BY n ORDER BY n`,
    );
    expect(report.clusters.sizeDistribution).toEqual(sizes.map((x) => ({ size: x.size, persons: x.persons })));
    const multi = await sql(
      `SELECT person_id FROM ${curated('family_members')} GROUP BY person_id HAVING count(DISTINCT family_id) > 1 ORDER BY person_id`,
    );
    expect(report.clusters.personsInMoreThanOneFamily).toEqual({
      persons: multi.length,
      personIds: multi.map((x) => x.person_id),
    });
    expect(report.clusters.conflictingTokens.personIds).toContain(fx.planted.conflictingTokens);
    expect(report.clusters.implausibleDobSpread.personIds).toContain(fx.planted.dobSpread);
    expect(report.clusters.refusedMerges?.total).toBe(1);
  });

  it('link rates by source in the bias section agree with the persons table', async () => {
    const rows = await sql(`
      WITH rp AS (SELECT r.source, p.person_id FROM ${curated('records')} r JOIN ${curated('persons')} p USING (record_id)),
           n AS (SELECT person_id, count(*) AS c FROM rp GROUP BY person_id)
      SELECT source AS grp, count(*) AS records, sum(CASE WHEN c > 1 THEN 1 ELSE 0 END) AS linked FROM rp JOIN n USING (person_id) GROUP BY source ORDER BY source`);
    expect(report.bias.bySource.map((g) => [g.group, g.records, g.linked])).toEqual(
      rows.map((x) => [x.grp, x.records, Number(x.linked)]),
    );
    expect(report.bias.byAgeBand.reduce((s, g) => s + g.records, 0)).toBe(report.linkage.records);
    expect(report.bias.bySex.reduce((s, g) => s + g.records, 0)).toBe(report.linkage.records);
    expect(report.bias.byLocality.reduce((s, g) => s + g.records, 0)).toBe(report.linkage.records);
  });
});

describe('match audit report: what is published', () => {
  it('writes HTML and JSON with the same content, self-contained, with every section', async () => {
    const k = matchAuditKeys(AS_AT);
    const json = JSON.parse((await fx.stores.outputs.get(k.json)).toString()) as MatchAuditReport;
    expect(json).toEqual(JSON.parse(JSON.stringify(report)));
    const page = (await fx.stores.outputs.get(k.html)).toString();
    for (const h of [
      'Inputs',
      'Linkage',
      'Cluster quality',
      'Linkage bias',
      'Clerical review',
      'Privacy and the run manifest',
      'Threshold sensitivity',
      'EM convergence',
    ])
      expect(page).toContain(h);
    expect(page).toContain(report.inputs.files[0]!.sha256);
    expect(page).toContain('os-user:tester');
    expect(findExternalReferences(page)).toEqual([]);
    expect(json.privacy.status).toBe('pass');
    expect(json.privacy.files.some((f) => f.key.startsWith(`as_at=${AS_AT}/match-audit/`))).toBe(false);
  });

  it('is byte-for-byte the same when rebuilt from the same inputs', async () => {
    const k = matchAuditKeys(AS_AT);
    const before = [await fx.stores.outputs.get(k.json), await fx.stores.outputs.get(k.html)];
    await buildMatchAuditReport(fx.ctx);
    expect((await fx.stores.outputs.get(k.json)).equals(before[0]!)).toBe(true);
    expect((await fx.stores.outputs.get(k.html)).equals(before[1]!)).toBe(true);
  });

  it('shows a failed privacy scan, where and what kind, without the value', async () => {
    const f2 = await buildAuditFixture(11);
    await f2.stores.outputs.put(
      `as_at=${AS_AT}/target-lists/North.csv`,
      `family_id,locality,score\nF0001,North,12\nF0004,${f2.aForename},7\n`,
    );
    const { report: r2, keys: k } = await buildMatchAuditReport(f2.ctx);
    expect(r2.privacy.status).toBe('fail');
    expect(r2.privacy.findings).toEqual([
      expect.objectContaining({
        key: `as_at=${AS_AT}/target-lists/North.csv`,
        location: 'row 2 (line 3), column locality',
        kind: 'forename',
      }),
    ]);
    const page = (await f2.stores.outputs.get(k.html)).toString();
    expect(page).toContain('PRIVACY SCAN FAILED');
    expect(page.toUpperCase()).not.toContain(`>${f2.aForename}<`);
    expect(JSON.stringify(r2).toUpperCase()).not.toContain(`"${f2.aForename}"`);
  });

  it('flags input counts that do not reconcile', async () => {
    const f3 = await buildAuditFixture(3);
    await f3.stores.secure.put(
      `as_at=${AS_AT}/validated/police/people/_counts.json`,
      JSON.stringify({
        files: [
          {
            key: 'police/people/dt=2026-03-01/people.csv',
            sha256: 'a'.repeat(64),
            rows: 10,
            accepted: 7,
            quarantined: 2,
            quarantinedByReason: { bad_date: 2 },
          },
        ],
      }),
    );
    const { report: r3 } = await buildMatchAuditReport(f3.ctx);
    expect(r3.inputs.reconciles).toBe(false);
    expect(r3.inputs.problems[0]).toMatch(
      /police\/people\/dt=2026-03-01\/people.csv: 10 rows read but 7 accepted \+ 2 quarantined \+ 0 in a rejected file/,
    );
  });
});
