/**
 * The match audit report of a real pipeline run (generated data -> validate ... publish), its counts
 * recomputed independently with SQL over the curated tables and the validation counts, and the privacy
 * scan catching a forename planted in a published target list.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { readFile, readdir, rm, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../fixtures/generator/generate.ts';
import { runLocal, localStores } from '../../pipelines/local/runner.ts';
import { silentLog } from '../../pipelines/log.ts';
import { defaultRunConfig } from '../../pipelines/config.ts';
import { readParquet } from '../../pipelines/io/parquet.ts';
import { buildMatchAuditReport } from '../../pipelines/reports/match-audit/build.ts';
import type { MatchAuditReport } from '../../pipelines/reports/match-audit/model.ts';
import { localRuntime } from '../../pipelines/runtime.ts';
import { feedsOfRule } from '../../models/rules/coverage.ts';
import { HEADLINE_IDS } from '../../models/rules/schema.ts';
import { defaultRuleSet } from '../../models/rules/supporting-families.ts';

const AS_AT = '2026-03-31';
let root: string;
let report: MatchAuditReport;
let plantedRows = 0;

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
const table = (t: string) =>
  `read_parquet('${join(root, 'out', 'curated', t, `as_at=${AS_AT}`, 'part-00000.parquet')}')`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'audit-e2e-'));
  generate({ families: 60, seed: 'audit-e2e', asAt: AS_AT, out: root, extracts: 2 });
  // one event file with CR-only line ends: rejected whole, its rows still counted
  const dtDir = join(root, 'landing', 'schools', 'attendance', `dt=${AS_AT}`);
  const file = join(
    dtDir,
    (await readdir(dtDir)).find((f) => f.endsWith('.csv'))!,
  );
  const text = await readFile(file, 'utf8');
  plantedRows = text.split('\n').filter((l) => l.trim() !== '').length - 1;
  await writeFile(file, text.replaceAll('\r\n', '\n').replaceAll('\n', '\r'));
  const res = await runLocal({
    landing: join(root, 'landing'),
    out: join(root, 'out'),
    asAt: AS_AT,
    log: silentLog,
    retryDelayMs: 0,
  });
  if (res.status !== 'ok') throw new Error(`pipeline run failed: ${JSON.stringify(res.error)}`);
  report = JSON.parse(
    await readFile(join(root, 'out', 'outputs', `as_at=${AS_AT}`, 'match-audit', 'report.json'), 'utf8'),
  ) as MatchAuditReport;
}, 240_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('match audit report of a real run', () => {
  it("input totals equal the sums of every feed's validation counts, and reconcile", async () => {
    const rows =
      await sql(`SELECT sum(f.rows) AS rows, sum(f.accepted) AS accepted, sum(f.quarantined) AS quarantined, count(*) AS files
      FROM (SELECT unnest(files) AS f FROM read_json('${join(root, 'out', 'secure', `as_at=${AS_AT}`, 'validated')}/*/*/_counts.json', union_by_name = true))`);
    expect(report.inputs.totals).toMatchObject({
      files: rows[0]!.files,
      rows: Number(rows[0]!.rows),
      accepted: Number(rows[0]!.accepted),
      quarantined: Number(rows[0]!.quarantined),
    });
    expect(report.inputs.reconciles).toBe(true);
  });

  it('records, persons, links, pairs, per-source linkage and cluster sizes agree with the curated tables', async () => {
    const [c] =
      await sql(`SELECT (SELECT count(*) FROM ${table('records')}) AS records, (SELECT count(DISTINCT person_id) FROM ${table('persons')}) AS persons,
      (SELECT count(*) FROM ${table('links')}) AS links, (SELECT count(*) FROM ${table('pairs')}) AS pairs`);
    expect(report.linkage).toMatchObject({
      records: c!.records,
      persons: c!.persons,
      links: c!.links,
      pairsScored: c!.pairs,
    });
    const bySource = await sql(`
      WITH rp AS (SELECT r.source, p.person_id FROM ${table('records')} r JOIN ${table('persons')} p USING (record_id)),
           ps AS (SELECT person_id, count(DISTINCT source) AS s FROM rp GROUP BY person_id)
      SELECT source, count(*) AS records, sum(CASE WHEN s > 1 THEN 1 ELSE 0 END) AS other FROM rp JOIN ps USING (person_id) GROUP BY source ORDER BY source`);
    expect(report.linkage.bySource.map((s) => [s.source, s.records, s.linkedToOtherSource])).toEqual(
      bySource.map((x) => [x.source, x.records, Number(x.other)]),
    );
    const sizes = await sql(
      `SELECT n AS size, count(*) AS persons FROM (SELECT person_id, count(*) AS n FROM ${table('persons')} GROUP BY person_id) GROUP BY n ORDER BY n`,
    );
    expect(report.clusters.sizeDistribution).toEqual(sizes.map((x) => ({ size: x.size, persons: x.persons })));
    const byKey = await sql(`SELECT match_key, count(*) AS n FROM ${table('links')} GROUP BY match_key`);
    expect(Object.fromEntries(report.linkage.linksByRule.map((x) => [x.matchKey, x.links]))).toEqual(
      Object.fromEntries(byKey.map((x) => [x.match_key, x.n])),
    );
    const multi = await sql(
      `SELECT count(*) AS n FROM (SELECT person_id FROM ${table('family_members')} GROUP BY person_id HAVING count(DISTINCT family_id) > 1)`,
    );
    expect(report.clusters.personsInMoreThanOneFamily?.persons).toBe(multi[0]!.n);
    const clustering = JSON.parse(
      await readFile(join(root, 'out', 'curated', 'match', `as_at=${AS_AT}`, 'clustering.json'), 'utf8'),
    ) as { refusedMerges: unknown[] };
    expect(report.clusters.refusedMerges?.total).toBe(clustering.refusedMerges.length);
    // Two explained borderline pairs, one either side of the threshold; each explanation sums to its weight.
    expect(report.linkage.explanations.map((e) => e.linked)).toEqual([true, false]);
    for (const e of report.linkage.explanations)
      expect(e.priorWeight + e.comparisons.reduce((s, c) => s + c.weight, 0)).toBeCloseTo(e.matchWeight, 6);
  });

  it('a file rejected whole counts its rows: read = accepted + quarantined + rows of rejected files, and the check says so', async () => {
    const f = report.inputs.files.find((x) => x.key.startsWith(`schools/attendance/dt=${AS_AT}/`))!;
    expect(plantedRows).toBeGreaterThan(10);
    expect(f).toMatchObject({
      rows: plantedRows,
      rejectedRows: plantedRows,
      accepted: 0,
      quarantined: 0,
      reconciles: true,
    });
    expect(f.rejected).toMatch(/: line ends are CR only \(no LF\)/);
    const t = report.inputs.totals;
    expect(t.rows).toBe(t.accepted + t.quarantined + t.rejectedRows);
    expect(t.rejectedRows).toBe(plantedRows);
    expect(report.inputs.reconciles).toBe(true);
    const html = await readFile(join(root, 'out', 'outputs', `as_at=${AS_AT}`, 'match-audit', 'report.html'), 'utf8');
    expect(html).toMatch(
      /Input counts reconcile<\/th><td><span class="bad">Look at this<\/span><\/td><td>rows read = accepted \+ quarantined \+ rows of rejected files, but 1 files \(\d+ rows\) were rejected whole/,
    );
  });

  it('one definition of a link and a person: headline, sensitivity "this run", strong-identifier agreement, per source', async () => {
    const [c] = await sql(
      `SELECT (SELECT count(*) FROM ${table('links')}) AS links, (SELECT count(DISTINCT person_id) FROM ${table('persons')}) AS persons`,
    );
    expect(report.linkage).toMatchObject({ links: c!.links, persons: c!.persons });
    const thisRun = report.linkage.sensitivity.find((x) => x.offset === 0)!;
    expect({ links: thisRun.links, persons: thisRun.persons }).toEqual({ links: c!.links, persons: c!.persons });
    // other thresholds: fewer links and more persons above, more links and fewer persons below
    const sens = report.linkage.sensitivity;
    expect(sens.map((x) => x.offset)).toEqual([-8, -6, -4, -2, -1, 0, 1, 2, 4, 6, 8]);
    for (let i = 1; i < sens.length; i++) {
      expect(sens[i]!.links).toBeLessThanOrEqual(sens[i - 1]!.links);
      expect(sens[i]!.persons).toBeGreaterThanOrEqual(sens[i - 1]!.persons);
    }
    const people = `read_parquet('${join(root, 'out', 'secure', `as_at=${AS_AT}`, 'person-records.parquet')}')`;
    const [d] =
      await sql(`SELECT count(*) AS n FROM ${table('links')} k JOIN ${people} a ON a.record_id = k.record_id_l JOIN ${people} b ON b.record_id = k.record_id_r
      WHERE (a.nhs_number_token IS NOT NULL AND a.nhs_number_token <> '' AND a.nhs_number_token = b.nhs_number_token) OR (a.upn_token IS NOT NULL AND a.upn_token <> '' AND a.upn_token = b.upn_token)`);
    expect(Number(d!.n)).toBeGreaterThan(0);
    expect(report.linkage.deterministicLinks).toBe(Number(d!.n));
    expect(report.linkage.probabilisticLinks).toBe(Number(c!.links) - Number(d!.n));
    // per source and the bias section count linked records over the same persons
    expect(report.linkage.bySource.reduce((s, x) => s + x.records, 0)).toBe(report.linkage.records);
    expect(report.linkage.bySource.reduce((s, x) => s + x.linkedToAnyRecord, 0)).toBe(report.bias.overall.linked);
  });

  it('shows headline coverage: each headline with the feeds received that evidence it', async () => {
    const cov = report.headlineCoverage!;
    expect(cov.map((c) => c.headline)).toEqual(HEADLINE_IDS);
    // feeds received, independently: those with a file accepted (not rejected whole) in the inputs
    const received = new Set(
      report.inputs.files.filter((f) => f.rejected === null).map((f) => `${f.source}/${f.feed}`),
    );
    for (const c of cov) {
      const feeds = [
        ...new Set(
          defaultRuleSet()
            .rules.filter((r) => r.headline === c.headline)
            .flatMap(feedsOfRule),
        ),
      ].sort();
      expect(c.feedsReceived, c.headline).toEqual(feeds.filter((f) => received.has(f)));
      expect(c.feedsMissing, c.headline).toEqual(feeds.filter((f) => !received.has(f)));
    }
    expect(cov.every((c) => c.status === 'evidenced')).toBe(true); // the generator sends every feed
    const html = await readFile(join(root, 'out', 'outputs', `as_at=${AS_AT}`, 'match-audit', 'report.html'), 'utf8');
    expect(html).toContain('Headlines and the feeds that evidence them');
    expect(html).toMatch(
      /Secure housing<\/th><td class="wrap">evidenced<\/td><td class="wrap">housing\/<wbr>homelessness, housing\/<wbr>temporary_<wbr>accommodation/,
    );
  });

  it('carries the run manifest: who ran it, code version, config and rule-set versions, inputs', async () => {
    const [v] = await sql(`SELECT string_agg(DISTINCT rule_set_version, ', ') AS v FROM ${table('scores')}`);
    expect(report.manifest).toMatchObject({ asAt: AS_AT, ruleSetVersion: v!.v });
    expect(String(report.manifest?.ranBy)).toMatch(/^(os-user:|aws-lambda:|.+)/);
    expect(String(report.manifest?.codeVersion).length).toBeGreaterThan(3);
    expect((report.manifest?.config as { sha256: string }).sha256).toMatch(/^[0-9a-f]{64}$/);
    expect((report.manifest?.inputs as unknown[]).length).toBe(report.inputs.totals.files);
  });

  it('the privacy scan passes the real outputs and catches a forename planted in a target list', async () => {
    expect(report.privacy.status).toBe('pass');
    expect(report.privacy.files.some((f) => f.format === 'xlsx')).toBe(true);
    const stores = localStores(join(root, 'landing'), join(root, 'out'));
    const lists = (await stores.outputs.list(`as_at=${AS_AT}/target-lists/`)).filter(
      (o) => o.key.endsWith('.csv') && !o.key.includes('statutory'),
    );
    const target = lists.find((o) => o.size > 200) ?? lists[0]!;
    const text = (await stores.outputs.get(target.key)).toString();
    const people = await readParquet(stores.secure, `as_at=${AS_AT}/person-records.parquet`);
    const forename = people.map((p) => p.forename).find((f): f is string => typeof f === 'string' && f.length >= 5)!;
    const lines = text.split('\n');
    const cells = lines[1]!.split(',');
    cells[0] = forename[0] + forename.slice(1).toLowerCase();
    lines[1] = cells.join(',');
    await stores.outputs.put(target.key, lines.join('\n'));
    const manifest = JSON.parse((await stores.outputs.get(`as_at=${AS_AT}/manifest.json`)).toString()) as {
      runId: string;
    };
    const { report: r2 } = await buildMatchAuditReport({
      asAt: AS_AT,
      runId: manifest.runId,
      stores,
      config: defaultRunConfig(),
      log: silentLog,
      runtime: localRuntime(),
    });
    expect(r2.privacy.status).toBe('fail');
    expect(r2.privacy.findings.map((f) => [f.key, f.kind])).toContainEqual([target.key, 'forename']);
    expect(r2.privacy.findings.find((f) => f.key === target.key)?.location).toMatch(/^row 1 \(line 2\), column /);
  });
});
