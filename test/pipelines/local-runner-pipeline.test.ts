/**
 * The real pipeline (every registered stage) through the local executor on the committed 50-family sample:
 * idempotent (byte-identical outputs, manifest aside from timings), and a failure injected into a real stage is
 * caught by the definition's Catch, recorded in the manifest, and a re-run completes with the same outputs.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availablePlan, runLocal } from '../../pipelines/local/runner.ts';
import { silentLog } from '../../pipelines/log.ts';
import { loadStage } from '../../pipelines/stages/index.ts';

const LANDING = join(import.meta.dirname, '../../fixtures/samples/small/landing');
const AS_AT = '2026-10-31';
let dir: string;

async function files(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      // the published folder is a link to its release under _releases/ (walked once, through the link)
      if (e.name === '_releases') continue;
      // the partnership's secret pseudonym key (secure/keys/) is generated once per out dir at random: key material,
      // not an output, so two out dirs hold different keys by design (the refs it pseudonymises are compared below)
      if (relative(root, p) === join('secure', 'keys')) continue;
      // a run's stage records (pipelines/stage-records.ts) carry when they were recorded
      if (e.name === 'stages' && relative(root, d).startsWith(join('outputs', '_runs'))) continue;
      if (e.isDirectory() || e.isSymbolicLink()) await walk(p);
      else
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

/** The files that differ between two identical runs: those that carry timings. */
const timed = (runId: string) =>
  [
    join('outputs', '_runs', `as_at=${AS_AT}`, runId, 'manifest.json'),
    join('outputs', `as_at=${AS_AT}`, '_CURRENT.json'),
    join('outputs', `as_at=${AS_AT}`, 'manifest.json'),
    join('outputs', 'run_manifests', `as_at=${AS_AT}`, `${runId}.json`), // the run manifest as one JSON line (Glue run_manifests)
  ].sort();

const withoutTimings = (m: Record<string, unknown>) =>
  JSON.parse(
    JSON.stringify(m, (k, v: unknown) => (['startedAt', 'finishedAt', 'durationMs', 'at'].includes(k) ? undefined : v)),
  );

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'locality-e2e-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the whole pipeline, locally', () => {
  it('every stage of the pipeline is registered', () => {
    expect(availablePlan().missing).toEqual([]);
  });

  it('same inputs and config twice: byte-identical outputs (the manifest differs only in timings)', async () => {
    const a = await runLocal({ landing: LANDING, out: join(dir, 'a'), asAt: AS_AT, log: silentLog });
    expect(a.error).toBeUndefined();
    expect(a.status).toBe('ok');
    const b = await runLocal({ landing: LANDING, out: join(dir, 'b'), asAt: AS_AT, log: silentLog });
    expect(b.status).toBe('ok');
    expect(b.runId).toBe(a.runId);
    const fa = await files(join(dir, 'a'));
    const fb = await files(join(dir, 'b'));
    expect([...fb.keys()].sort()).toEqual([...fa.keys()].sort());
    const manifestKey = join('outputs', `as_at=${AS_AT}`, 'manifest.json');
    const differ = [...fa.keys()].filter((k) => fa.get(k) !== fb.get(k));
    // the manifest (timings), the run's own copy of it, and the release marker (which holds the manifest's hash)
    expect(differ.sort()).toEqual(timed(a.runId));
    const ma = JSON.parse(await readFile(join(dir, 'a', manifestKey), 'utf8'));
    const mb = JSON.parse(await readFile(join(dir, 'b', manifestKey), 'utf8'));
    expect(withoutTimings(mb)).toEqual(withoutTimings(ma));
    // the three reports are there
    for (const r of ['target-lists/index.html', 'start-well/report.html', 'match-audit/report.html'])
      expect(fa.has(join('outputs', `as_at=${AS_AT}`, r)), r).toBe(true);
    // the manifest: inputs with hashes and row counts that reconcile, a stage record per stage
    expect(ma.status).toBe('ok');
    expect(ma.inputs.length).toBeGreaterThan(0);
    for (const i of ma.inputs) {
      expect(i.sha256).toMatch(/^[0-9a-f]{64}$/);
      if (i.rows !== undefined) expect(i.accepted + i.quarantined).toBe(i.rows);
    }
    expect(ma.stages.map((s: { name: string; status: string }) => `${s.name}:${s.status}`)).toEqual(
      ['validate', 'standardise', 'match', 'families', 'stratify', 'publish'].map((n) => `${n}:ok`),
    );
    expect(ma.ruleSetVersion).toBeTruthy();
  }, 300_000);

  it('a failure injected in a real stage is caught, recorded, and a re-run completes with the same outputs', async () => {
    let failures = 1;
    const out = join(dir, 'c');
    const flaky = async (name: string) => {
      const entry = await loadStage(name);
      if (name !== 'families') return entry;
      return {
        ...entry,
        run: async (ctx: Parameters<typeof entry.run>[0], input: unknown) => {
          if (failures-- > 0) throw new Error('injected: disk full');
          return entry.run(ctx, input);
        },
      };
    };
    const failed = await runLocal({
      landing: LANDING,
      out,
      asAt: AS_AT,
      log: silentLog,
      loadStage: flaky,
      retryDelayMs: 0,
    });
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ stage: 'families' });
    expect(failed.error!.cause).toContain('injected: disk full');
    const m = JSON.parse(await readFile(failed.manifestPath, 'utf8'));
    expect(m.status).toBe('failed');
    expect(m.stages.map((s: { name: string; status: string }) => `${s.name}:${s.status}`)).toEqual([
      'validate:ok',
      'standardise:ok',
      'match:ok',
      'families:failed',
      'stratify:not-run',
      'publish:not-run',
    ]);
    const again = await runLocal({
      landing: LANDING,
      out,
      asAt: AS_AT,
      log: silentLog,
      loadStage: flaky,
      retryDelayMs: 0,
    });
    expect(again.status).toBe('ok');
    const fa = await files(join(dir, 'a'));
    const fc = await files(out);
    expect([...fc.keys()].filter((k) => fa.get(k) !== fc.get(k)).sort()).toEqual(timed(again.runId));
  }, 300_000);
});
