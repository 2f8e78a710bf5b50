/**
 * A partnership without a housing or a drug and alcohol source (`stratify.sources` leaves them out), though the files
 * landed: a real pipeline run, then every list and report read as its reader would. Each says those headlines and the
 * Start Well indicators they drive are "not evidenced", and none shows them as no need (0, or a headline met). The
 * same run's Start Well CSV is also attacked (linear algebra over every published figure) with nothing recovered.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../fixtures/generator/generate.ts';
import { defaultRunConfig } from '../../pipelines/config.ts';
import { runLocal } from '../../pipelines/local/runner.ts';
import { silentLog } from '../../pipelines/log.ts';
import { csvRows, unitsOfBuffer } from '../../pipelines/privacy/extract.ts';
import type { MatchAuditReport } from '../../pipelines/reports/match-audit/model.ts';
import type { StartWellSummary } from '../../pipelines/reports/start-well/report.ts';
import type { ProtectedTable, PublishedCell } from '../../models/disclosure.ts';
import { recoverable } from '../models/recover.ts';

const AS_AT = '2026-03-31';
const SOURCES = ['schools', 'health', 'police', 'social_care', 'revenues_benefits', 'youth_justice'];
let root: string;
let outputs: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'not-evidenced-'));
  generate({ families: 80, seed: 'not-evidenced', asAt: AS_AT, out: root, extracts: 2 });
  const config = defaultRunConfig();
  config.stratify = { ...(config.stratify as object), sources: SOURCES };
  const res = await runLocal({
    landing: join(root, 'landing'),
    out: join(root, 'out'),
    asAt: AS_AT,
    config,
    log: silentLog,
    retryDelayMs: 0,
  });
  if (res.status !== 'ok') throw new Error(`pipeline run failed: ${JSON.stringify(res.error)}`);
  outputs = join(root, 'out', 'outputs', `as_at=${AS_AT}`);
}, 240_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

const text = (rel: string) => readFile(join(outputs, rel), 'utf8');
const csv = async (rel: string) => [...csvRows((await text(rel)).replace(/^\ufeff/, ''))].map(([, cells]) => cells);

describe('a partnership without housing and drug and alcohol sources', () => {
  it('the housing and drug and alcohol files did land (they are left out by configuration, not missing)', async () => {
    expect(await readdir(join(root, 'landing', 'housing'))).toContain('homelessness');
    expect(await readdir(join(root, 'landing', 'drug_alcohol'))).toContain('treatment');
  });

  it('every target list CSV says so on every row, and no family meets those headlines', async () => {
    const files = (await readdir(join(outputs, 'target-lists'))).filter((f) => f.endsWith('.csv'));
    expect(files.length).toBeGreaterThanOrEqual(6);
    let rows = 0;
    for (const f of files) {
      const [header, ...body] = await csv(`target-lists/${f}`);
      const ne = header!.indexOf('headlines_not_evidenced');
      const met = header!.indexOf('headlines_met');
      expect(ne, f).toBeGreaterThan(0);
      for (const r of body) {
        rows++;
        expect(r[ne], f).toContain(
          'housing: not evidenced (not received: housing/homelessness, housing/temporary_accommodation, housing/tenancy_actions)',
        );
        expect(r[ne], f).toContain('substance_use: not evidenced (not received: drug_alcohol/treatment)');
        expect(r[met]!.split('; '), f).not.toContain('housing');
        expect(r[met]!.split('; '), f).not.toContain('substance_use');
        expect(r.join(','), f).not.toMatch(/SF-(HOU|SUB)-0\d/);
      }
    }
    expect(rows).toBeGreaterThan(10);
  });

  it('every target list XLSX carries the column and the note on every sheet', async () => {
    const files = (await readdir(join(outputs, 'target-lists'))).filter((f) => f.endsWith('.xlsx'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const f of files) {
      const units = [...unitsOfBuffer(f, await readFile(join(outputs, 'target-lists', f)))].map((u) => u.text);
      // one header per sheet: target list, open to statutory services, left the list, suppressed after contact
      expect(units.filter((u) => u === 'headlines_not_evidenced').length, f).toBe(4);
      expect(
        units.some((u) => u.includes('housing: not evidenced')),
        f,
      ).toBe(true);
      expect(
        units.some((u) => /SF-(HOU|SUB)-0\d/.test(u)),
        f,
      ).toBe(false);
    }
  });

  it("the index and each whole-list page show the NOT EVIDENCED banner; the index's coverage table says which", async () => {
    const index = await text('target-lists/index.html');
    expect(index).toMatch(/NOT EVIDENCED<\/strong>Better managed substance use; Secure housing: /);
    expect(index).toMatch(/<th scope="row">Secure housing<\/th><td class="wrap">not evidenced/);
    expect(index).toMatch(/<th scope="row">Financial stability<\/th><td class="wrap">evidenced</);
    for (const f of (await readdir(join(outputs, 'target-lists'))).filter(
      (x) => x.endsWith('.html') && x !== 'index.html',
    )) {
      expect(await text(`target-lists/${f}`), f).toContain(
        'NOT EVIDENCED</strong>Better managed substance use; Secure housing',
      );
    }
  });

  it('Start Well shows its housing and drug and alcohol indicators as not evidenced in HTML, CSV and summary, never 0', async () => {
    const page = await text('start-well/report.html');
    expect(page).toMatch(
      /<th scope="row">Household homeless or in temporary accommodation \(12 months\)<\/th>(<td class="num">not evidenced<\/td>)+<\/tr>/,
    );
    expect(page).toMatch(
      /<th scope="row">Parent in drug or alcohol treatment \(12 months\)<\/th>(<td class="num">not evidenced<\/td>)+<\/tr>/,
    );
    expect(page).toMatch(/<th scope="row">Workless household \(out-of-work benefit\)<\/th><td class="num">[^n]/); // revenues_benefits is configured
    const [header, ...rows] = await csv('start-well/report.csv');
    const col = (n: string) => header!.indexOf(n);
    const of = (m: string) => rows.filter((r) => r[col('measure')] === m);
    for (const m of ['housing_need_household', 'parent_in_substance_treatment']) {
      expect(of(m).length, m).toBeGreaterThan(4);
      for (const r of of(m)) {
        expect(r[col('count')], m).toBe('');
        expect(r[col('rate_percent')], m).toBe('');
        expect(r[col('not_evidenced')], m).not.toBe('');
      }
    }
    expect(of('workless_household').every((r) => r[col('not_evidenced')] === '')).toBe(true);
    const summary = JSON.parse(await text('start-well/summary.json')) as StartWellSummary;
    expect(summary.indicators.housing_need_household?.notEvidenced).toEqual([
      'housing/homelessness',
      'housing/temporary_accommodation',
    ]);
    expect(summary.pregnancies.parent_in_substance_treatment?.notEvidenced).toEqual(['drug_alcohol/treatment']);
    expect(summary.indicators.housing_need_household?.total.value).toBeNull();
  });

  it('Start Well as published (each table in its own band): an attacker with every figure and total recovers no suppressed cell', async () => {
    const [header, ...rows] = await csv('start-well/report.csv');
    const col = (n: string) => header!.indexOf(n);
    const measures = [
      ...new Set(
        rows
          .filter((r) => r[col('cohort')] === 'children_under_2' && r[col('not_evidenced')] === '')
          .map((r) => r[col('measure')]!),
      ),
    ];
    expect(measures.length).toBeGreaterThan(8);
    let suppressed = 0;
    for (const m of measures) {
      const mine = rows.filter((r) => r[col('cohort')] === 'children_under_2' && r[col('measure')] === m);
      const locs = [...new Set(mine.map((r) => r[col('locality')]!))].filter((l) => l !== 'All localities');
      const cols = [...new Set(mine.map((r) => r[col('month_of_birth')]!))].filter((c) => c !== 'all');
      const cellOf = (l: string, c: string): PublishedCell => {
        const r = mine.find((x) => x[col('locality')] === l && x[col('month_of_birth')] === c)!;
        const s = r[col('suppressed')]!;
        return {
          value: s ? null : Number(r[col('count')]),
          suppressed: s === 'primary' || s === 'secondary' ? s : null,
        };
      };
      const t: ProtectedTable = {
        rows: locs,
        cols,
        cells: locs.map((l) => cols.map((c) => cellOf(l, c))),
        rowTotals: locs.map((l) => cellOf(l, 'all')),
        colTotals: cols.map((c) => cellOf('All localities', c)),
        grandTotal: cellOf('All localities', 'all'),
      };
      suppressed += [...t.cells.flat(), ...t.rowTotals!, ...t.colTotals!].filter((c) => c.suppressed).length;
      expect(
        recoverable(
          { rows: locs, cols, counts: locs.map(() => cols.map(() => 0)), rowTotals: true, colTotals: true },
          t,
        ),
        m,
      ).toEqual([]);
    }
    expect(suppressed).toBeGreaterThan(0);
  });

  it('the match audit shows the headline coverage: housing and substance use not evidenced, the rest evidenced by the feeds present', async () => {
    const report = JSON.parse(await text('match-audit/report.json')) as MatchAuditReport;
    const status = Object.fromEntries(report.headlineCoverage!.map((c) => [c.headline, c.status]));
    expect(status).toMatchObject({
      housing: 'not_evidenced',
      substance_use: 'not_evidenced',
      financial_stability: 'evidenced',
      education: 'evidenced',
      crime: 'evidenced',
    });
    for (const c of report.headlineCoverage!)
      for (const f of c.feedsReceived) expect(SOURCES, c.headline).toContain(f.split('/')[0]);
    const page = await text('match-audit/report.html');
    expect(page).toContain('NOT EVIDENCED</strong>Better managed substance use; Secure housing');
    expect(page).toContain('Headlines and the feeds that evidence them');
  });
});
