/**
 * Month after month on the real pipeline (the committed 50-family sample, extracts 2026-07-31 and 2026-10-31):
 * `start` runs the latest date, then a backfill adds the earlier month ends (August and September read July's extracts). The latest date's previous run changes, so
 * its run id changes and it is re-run: its Start Well report gets every earlier run's figures (the trend), its ids
 * carry over from the run before, and its lists say what changed. Re-running it with the same previous run gives
 * the same bytes.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfillLocal } from '../../pipelines/backfill/local.ts';
import { LocalObjectStore } from '../../pipelines/io/local-object-store.ts';
import { readParquet } from '../../pipelines/io/parquet.ts';
import { keys } from '../../pipelines/layout.ts';
import { runLocal } from '../../pipelines/local/runner.ts';
import { silentLog } from '../../pipelines/log.ts';
import { readManifest } from '../../pipelines/manifest.ts';
import { importOutcomes } from '../../pipelines/outcomes/import.ts';
import { CURRENT_MARKER, type ReleaseMarker } from '../../pipelines/release/promote.ts';
import { plantedOutsideSecure } from '../support/planted-values.ts';

const LANDING = join(import.meta.dirname, '../../fixtures/samples/small/landing');
const LATEST = '2026-10-31';
let dir: string;

/**
 * The release marker lists every released file with its SHA-256, the manifest's too; the manifest has the run's
 * timings, so it differs between two runs of the same inputs: its entry is left out, everything else in the marker
 * (run id, state, sign-off, every other file's hash) must match.
 */
function markerWithoutManifest(bytes: Buffer): string {
  const m = JSON.parse(bytes.toString('utf8')) as ReleaseMarker;
  expect(m.files.some((f) => f.name === 'manifest.json')).toBe(true);
  return JSON.stringify({ ...m, files: m.files.filter((f) => f.name !== 'manifest.json') });
}

async function hashes(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name === CURRENT_MARKER)
        out.set(
          relative(root, p),
          createHash('sha256')
            .update(markerWithoutManifest(await readFile(p)))
            .digest('hex'),
        );
      else if (e.name !== 'manifest.json')
        out.set(
          relative(root, p),
          createHash('sha256')
            .update(await readFile(p))
            .digest('hex'),
        );
    }
  };
  await walk(root);
  return out;
}

async function startThenBackfill(out: string, from: string) {
  const first = await runLocal({ landing: LANDING, out, asAt: LATEST, log: silentLog });
  expect(first.status).toBe('ok');
  return {
    first,
    backfill: await backfillLocal({ landing: LANDING, out, from, to: LATEST, every: 'month', log: silentLog }),
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'locality-monthly-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('month after month', () => {
  it('start then backfill: the latest date is re-run with its history; ids carry over; re-runs are byte-identical', async () => {
    const out = join(dir, 'a');
    const { first, backfill } = await startThenBackfill(out, '2026-08-31');
    expect(backfill.failed).toBeUndefined();
    expect(backfill.done.map((d) => [d.asAt, d.status])).toEqual([
      ['2026-08-31', 'ok'],
      ['2026-09-30', 'ok'],
      [LATEST, 'ok'],
    ]);
    const outputs = new LocalObjectStore(join(out, 'outputs'));
    const latest = (await readManifest(outputs, LATEST))!;
    expect(latest.runId).not.toBe(first.runId);
    expect(latest.previousRun).toEqual({ asAt: '2026-09-30', runId: backfill.done[1]!.runId });
    // Start Well: the trend has all three runs
    const publish = latest.stages.find((s) => s.name === 'publish')!;
    expect(publish.counts.start_well_trend_runs).toBe(3);
    const html = (await outputs.get(keys.output(LATEST, 'start-well/report.html'))).toString('utf8');
    for (const d of ['31 Aug 26', '30 Sep 26', '31 Oct 26']) expect(html).toContain(d);
    // the match audit counts the ids since the last run
    const audit = JSON.parse((await outputs.get(keys.output(LATEST, 'match-audit/report.json'))).toString('utf8')) as {
      idLineage: { previousAsAt: string; counts: Record<string, Record<string, number>> };
    };
    expect(audit.idLineage.previousAsAt).toBe('2026-09-30');
    expect(audit.idLineage.counts.family!.kept).toBeGreaterThan(0);
    expect(audit.idLineage.counts.person!.kept).toBeGreaterThan(0);
    // ids: September read the same extracts as August, so every person keeps its id and no family id is new, merged
    // or split. A family can still end at the later date (a family id retired with none of its members left in any
    // family): in the committed sample an expectant mother's pregnancy stops being current once the as-at date is
    // six weeks past her due date with no birth recorded (models/pregnancy.ts), and her household (two adults, the
    // children living elsewhere) is then no longer a family. That is a real change, not an id instability.
    const curated = new LocalObjectStore(join(out, 'curated'));
    const personLineage = await readParquet(curated, keys.curatedPart('id_lineage', '2026-09-30', 0));
    expect(new Set(personLineage.map((r) => r.kind))).toEqual(new Set(['kept']));
    const familyLineage = await readParquet(curated, keys.curatedPart('id_lineage', '2026-09-30', 1));
    expect(familyLineage.filter((r) => r.kind !== 'kept' && r.kind !== 'retired')).toEqual([]);
    const primaryIn = async (m: string) =>
      (await readParquet(curated, keys.curated('family_members', m))).filter((r) => r.membership === 'primary');
    const [augMembers, sepMembers] = [await primaryIn('2026-08-31'), await primaryIn('2026-09-30')];
    const sepPrimary = new Set(sepMembers.map((r) => String(r.person_id)));
    for (const retired of familyLineage.filter((r) => r.kind === 'retired')) {
      const members = augMembers.filter((r) => r.family_id === retired.id).map((r) => String(r.person_id));
      expect(members.length).toBeGreaterThan(0);
      expect(members.filter((p) => sepPrimary.has(p))).toEqual([]);
    }
    // every September family kept August's id
    const sepFamilies = new Set(sepMembers.map((r) => String(r.family_id)));
    const augFamilies = new Set(augMembers.map((r) => String(r.family_id)));
    expect([...sepFamilies].filter((f) => !augFamilies.has(f))).toEqual([]);
    const persons = (m: string) => readParquet(curated, keys.curated('persons', m));
    expect(await persons('2026-09-30')).toEqual(await persons('2026-08-31'));
    // most of October's families kept September's ids
    const fams = async (m: string) =>
      new Set((await readParquet(curated, keys.curated('families', m))).map((f) => String(f.family_id)));
    const [sep, oct] = [await fams('2026-09-30'), await fams(LATEST)];
    const kept = [...sep].filter((f) => oct.has(f)).length;
    expect(kept / sep.size).toBeGreaterThan(0.9);
    expect(
      publish.counts.target_list_change_unchanged! +
        publish.counts.target_list_change_escalated! +
        publish.counts.target_list_change_de_escalated!,
    ).toBeGreaterThan(0);
    // same inputs, same previous run: the latest date re-run (--force) gives the same bytes (manifest aside: timings)
    const before = await hashes(join(out, 'outputs', `as_at=${LATEST}`));
    const curatedBefore = await hashes(join(out, 'curated'));
    const again = await runLocal({ landing: LANDING, out, asAt: LATEST, log: silentLog, force: true });
    expect(again.runId).toBe(latest.runId);
    expect(await hashes(join(out, 'outputs', `as_at=${LATEST}`))).toEqual(before);
    expect(await hashes(join(out, 'curated'))).toEqual(curatedBefore);
    // a lead's outcomes: the top family of a list declined, the second was worked with; the next run (a new run id:
    // the outcomes are part of it) keeps the first apart and marks the second
    const lists = join(out, 'outputs', `as_at=${LATEST}`, 'target-lists');
    const csvs = (await readdir(lists)).filter((f) => f.endsWith('.csv') && !f.includes(' - '));
    let locality = '';
    let ranked: string[] = [];
    for (const f of csvs) {
      const lines = (await readFile(join(lists, f), 'utf8')).slice(1).trim().split('\r\n').slice(1);
      if (lines.length >= 2) {
        locality = f.slice(0, -4);
        ranked = lines.map((l) => l.split(',')[1]!);
        break;
      }
    }
    expect(ranked.length).toBeGreaterThanOrEqual(2);
    const file = join(dir, 'outcomes.csv');
    await writeFile(
      file,
      `family_id,date,outcome,lead_practitioner,case_opened,case_closed\n${ranked[0]},2026-10-15,declined,Lead A,,\n${ranked[1]},2026-10-16,worked_with,Lead B,2026-10-16,\n`,
    );
    const imported = await importOutcomes(
      { name: 'outcomes.csv', bytes: await readFile(file) },
      { secure: new LocalObjectStore(join(out, 'secure')), curated, outputs },
    );
    expect(imported).toMatchObject({ rows: 2, added: true });
    const next = await runLocal({ landing: LANDING, out, asAt: LATEST, log: silentLog });
    expect(next.status).toBe('ok');
    expect(next.runId).not.toBe(latest.runId);
    const after = (await readFile(join(lists, `${locality}.csv`), 'utf8')).slice(1).trim().split('\r\n').slice(1);
    expect(after.map((l) => l.split(',')[1])).not.toContain(ranked[0]);
    expect(after.find((l) => l.split(',')[1] === ranked[1])).toContain(
      'worked_with 2026-10-16, case open since 2026-10-16',
    );
    expect(await readFile(join(lists, `${locality} - suppressed after contact.csv`), 'utf8')).toContain(
      `${ranked[0]},`,
    );
    // Supporting Families: the worked-with family is tracked from the list the lead worked from (the latest run on or
    // before the day its case opened: September's, unless the family had another id then)
    const sf = join(out, 'outputs', `as_at=${LATEST}`, 'supporting-families');
    const claim = JSON.parse(await readFile(join(sf, 'claims', `${ranked[1]}.json`), 'utf8')) as {
      case_opened: string;
      claimable: boolean;
      needs_at_start: { as_at: string; needs: Array<{ rule: string; evidence: Array<{ record_ref: string }> }> };
      outcomes: Array<{ rule: string; status: string }>;
    };
    expect(claim.case_opened).toBe('2026-10-16');
    expect(['2026-09-30', LATEST]).toContain(claim.needs_at_start.as_at);
    expect(claim.needs_at_start.needs.length).toBeGreaterThan(0);
    expect(claim.needs_at_start.needs.every((n) => n.evidence.every((e) => e.record_ref))).toBe(true);
    expect(claim.outcomes.map((o) => o.rule)).toEqual(claim.needs_at_start.needs.map((n) => n.rule));
    expect(claim.claimable).toBe(false); // the case is still open
    const index = await readFile(join(sf, 'claims', 'index.csv'), 'utf8');
    expect(index.trim().split('\r\n').length).toBe(2); // the header and the one family worked with (not the declined one)
    // the board report: one family worked with is a small number, suppressed, in its locality and in the total
    const report = await readFile(join(sf, 'report.csv'), 'utf8');
    expect(report).toContain('by locality,All localities,worked with,,primary');
    const nextPublish = (await readManifest(outputs, LATEST))!.stages.find((s) => s.name === 'publish')!;
    expect(nextPublish.counts.sf_families_worked_with).toBe(1);
    // the lead practitioners' names stay in the secure zone
    expect(await plantedOutsideSecure(out, ['LEAD A', 'LEAD B'])).toEqual([]);
  }, 600_000);
});
