/**
 * The release gate through the whole local pipeline (the committed 50-family sample): a passing run is released
 * whole; a run whose privacy scan fails (a report that leaks a secure person's full name) fails, exits non-zero,
 * says why without quoting the value, releases nothing (the published folder keeps the previous set, byte for
 * byte) and keeps its staged outputs in the secure zone; with publish.requireSignoff the set waits for IG.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSummary } from '../../pipelines/cli/commands/run.ts';
import { runConfigSchema } from '../../pipelines/config.ts';
import { readParquet } from '../../pipelines/io/parquet.ts';
import { keys, PERSON_RECORDS_KEY } from '../../pipelines/layout.ts';
import { localStores, runLocal } from '../../pipelines/local/runner.ts';
import { silentLog } from '../../pipelines/log.ts';
import { readReleasedSet } from '../../pipelines/release/promote.ts';
import { signOff } from '../../pipelines/release/signoff.ts';
import { loadStage } from '../../pipelines/stages/index.ts';
import { definePublishStage, PUBLISH_STEPS, type PublishStep } from '../../pipelines/stages/publish.ts';

const LANDING = join(import.meta.dirname, '../../fixtures/samples/small/landing');
const AS_AT = '2026-10-31';
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'release-gate-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The published folder as a reader reads it: the release marker's run and every file's hash. */
async function published(out: string): Promise<{ runId: string; files: Record<string, string> }> {
  const set = await readReleasedSet(localStores(LANDING, out).outputs, AS_AT);
  if (set.state !== 'live') throw new Error(`published folder: ${set.state}`);
  return {
    runId: set.marker.runId,
    files: Object.fromEntries([...set.files].map(([n, b]) => [n, createHash('sha256').update(b).digest('hex')])),
  };
}

/** A publish stage with one more step: a report that writes a secure person's full name (a bug the scan must stop). */
function leakyPublish(fullName: () => string) {
  const leak: PublishStep = {
    name: 'leaky-report',
    run: async (ctx) => {
      await ctx.release.put('target-lists/leaky.csv', `family_id,note\nF1,${fullName()}\n`);
      return {};
    },
  };
  return async (name: string) =>
    name === 'publish' ? (definePublishStage([leak, ...PUBLISH_STEPS]) as never) : loadStage(name);
}

describe('the release gate', () => {
  it('a passing run is released whole; a failing scan fails the run, keeps the old set and its staged outputs in the secure zone', async () => {
    const out = join(dir, 'a');
    const first = await runLocal({ landing: LANDING, out, asAt: AS_AT, log: silentLog });
    expect(first.status).toBe('ok');
    expect(first.manifest?.release).toMatchObject({ state: 'released' });
    const before = await published(out);
    expect(before.runId).toBe(first.runId);
    expect(Object.keys(before.files)).toEqual(
      expect.arrayContaining([
        'manifest.json',
        'target-lists/index.html',
        'start-well/report.html',
        'match-audit/report.json',
        'match-audit/report.html',
      ]),
    );
    const manifest = JSON.parse(await readFile(join(out, 'outputs', keys.manifest(AS_AT)), 'utf8'));
    expect(manifest).toMatchObject({ runId: first.runId, status: 'ok', release: { state: 'released' } });

    const people = await readParquet(localStores(LANDING, out).secure, keys.secure(AS_AT, PERSON_RECORDS_KEY));
    const someone = people.find(
      (p) => typeof p.forename === 'string' && typeof p.surname === 'string' && String(p.forename).length > 2,
    )!;
    const name = `${String(someone.forename)} ${String(someone.surname)}`;
    const failed = await runLocal({
      landing: LANDING,
      out,
      asAt: AS_AT,
      log: silentLog,
      force: true,
      loadStage: leakyPublish(() => name),
    });
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ stage: 'publish' });
    expect(failed.error!.cause).toMatch(/privacy scan FAILED: [1-9]\d* clear identifiers found/);
    expect(failed.manifest).toMatchObject({ status: 'failed', release: { state: 'not-released' } });
    // why, without the value: not in the manifest, not in the summary
    const summary = formatSummary(failed);
    expect(summary).toContain('FAILED');
    expect(summary).toContain('NOT released');
    for (const text of [summary, JSON.stringify(failed.manifest)]) {
      expect(text.toUpperCase()).not.toContain(String(someone.surname).toUpperCase());
    }
    // the published folder: the first run's set, byte for byte
    expect(await published(out)).toEqual(before);
    // the staged set stays in the secure zone for IG, with its audit report (which names file, place and kind)
    const staged = localStores(LANDING, out).secure;
    expect(await staged.exists(keys.staged(AS_AT, first.runId, 'target-lists/leaky.csv'))).toBe(true);
    const audit = JSON.parse((await staged.get(keys.staged(AS_AT, first.runId, 'match-audit/report.json'))).toString());
    expect(audit.privacy.status).toBe('fail');
    expect(
      audit.privacy.findings.some(
        (f: { key: string; kind: string }) => f.key.endsWith('target-lists/leaky.csv') && f.kind === 'full_name',
      ),
    ).toBe(true);
  }, 300_000);

  it('with publish.requireSignoff the finished run is not released: the published folder is unchanged until IG approves', async () => {
    const out = join(dir, 'b');
    const config = runConfigSchema.parse({ publish: { requireSignoff: true } });
    const r = await runLocal({ landing: LANDING, out, asAt: AS_AT, log: silentLog, config });
    expect(r.status).toBe('ok');
    expect(r.manifest?.release).toMatchObject({ state: 'awaiting-signoff' });
    expect(await readReleasedSet(localStores(LANDING, out).outputs, AS_AT)).toEqual({ state: 'none' });
    const page = (
      await localStores(LANDING, out).secure.get(keys.staged(AS_AT, r.runId, 'target-lists/index.html'))
    ).toString();
    expect(page).toContain('NOT RELEASED: awaiting information governance sign-off');
    expect(formatSummary(r)).toContain('awaiting information governance sign-off');
    // the same run again is "already done" (it waits for IG), not re-run
    expect((await runLocal({ landing: LANDING, out, asAt: AS_AT, log: silentLog, config })).status).toBe('skipped');

    // IG signs off: a note naming a data subject is refused (it is published with the audit); then approve releases
    const stores = localStores(LANDING, out);
    const people = await readParquet(stores.secure, keys.secure(AS_AT, PERSON_RECORDS_KEY));
    const p = people.find(
      (x) => typeof x.forename === 'string' && typeof x.surname === 'string' && String(x.forename).length > 2,
    )!;
    await expect(
      signOff(stores, {
        asAt: AS_AT,
        decision: 'approve',
        by: 'IG Officer',
        note: `checked ${String(p.forename)} ${String(p.surname)}`,
      }),
    ).rejects.toThrow('the note carries a clear identifier (full name)');
    const m = await signOff(stores, { asAt: AS_AT, decision: 'approve', by: 'IG Officer', note: 'audit checked' });
    expect(m.release).toMatchObject({
      state: 'released',
      signoff: { decision: 'approve', by: 'IG Officer', note: 'audit checked' },
    });
    const set = await readReleasedSet(stores.outputs, AS_AT);
    if (set.state !== 'live') throw new Error(set.state);
    expect(set.marker).toMatchObject({ runId: r.runId, signoff: { decision: 'approve', by: 'IG Officer' } });
    expect(set.files.get('target-lists/index.html')!.toString()).toContain('released: approved by IG Officer');
    expect(JSON.parse(set.files.get('match-audit/report.json')!.toString()).signoff).toMatchObject({
      decision: 'approve',
      by: 'IG Officer',
    });
    expect(set.files.get('match-audit/report.html')!.toString()).toContain('SIGNED OFF');
    expect(JSON.parse(set.files.get('manifest.json')!.toString()).release).toMatchObject({
      state: 'released',
      signoff: { by: 'IG Officer' },
    });
    // a released run is not decided again
    await expect(signOff(stores, { asAt: AS_AT, decision: 'reject', by: 'IG Officer', note: '' })).rejects.toThrow(
      'only a finished run awaiting sign-off',
    );
  }, 300_000);

  it('IG rejects: recorded in the run manifest and the staged audit; nothing released, the set stays staged', async () => {
    const out = join(dir, 'c');
    const config = runConfigSchema.parse({ publish: { requireSignoff: true } });
    const r = await runLocal({ landing: LANDING, out, asAt: AS_AT, log: silentLog, config });
    const stores = localStores(LANDING, out);
    const m = await signOff(stores, { asAt: AS_AT, decision: 'reject', by: 'IG Officer', note: 'threshold too low' });
    expect(m.release).toMatchObject({ state: 'rejected', signoff: { decision: 'reject', by: 'IG Officer' } });
    expect(await readReleasedSet(stores.outputs, AS_AT)).toEqual({ state: 'none' });
    const audit = JSON.parse(
      (await stores.secure.get(keys.staged(AS_AT, r.runId, 'match-audit/report.json'))).toString(),
    );
    expect(audit.signoff).toMatchObject({ decision: 'reject', note: 'threshold too low' });
  }, 300_000);
});
