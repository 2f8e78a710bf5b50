/**
 * `npm run bench:small-files`: many small extracts. The police incidents feed delivered as N one-row files
 * (default 10,000, spread over 50 dt= folders) through validate and standardise, against a baseline measured in
 * the same run: the same N rows in one file. Each measurement runs in its own child process, so its peak RSS is its
 * own. Prints files/s, seconds per stage, peak RSS, and the ratio to the baseline. (Before batching: 722 s for
 * validate at 10,000 files, then standardise ran out of DuckDB memory after 810 s.)
 *
 *   BENCH_SMALL_FILES=10000   how many one-row files
 *   BENCH_DIR=/tmp/locality-bench-small-files   where the landings are generated (reused when already there)
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runConfigSchema } from '../pipelines/config.ts';
import { localStores } from '../pipelines/local/runner.ts';
import { silentLog } from '../pipelines/log.ts';
import { MANIFEST_VERSION, writeManifest } from '../pipelines/manifest.ts';
import { noProgress } from '../pipelines/progress.ts';
import { localRuntime } from '../pipelines/runtime.ts';
import type { StageContext } from '../pipelines/stages/context.ts';
import { standardiseStage } from '../pipelines/stages/standardise.ts';
import { validateStage } from '../pipelines/stages/validate.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SAMPLE = join(ROOT, 'fixtures/samples/small/landing/police');
const N = Number(process.env.BENCH_SMALL_FILES ?? 10_000);
const DIR = process.env.BENCH_DIR ?? '/tmp/locality-bench-small-files';
const AS_AT = '2026-10-31';
const FOLDERS = 50;
const HEADER = 'record_ref,incident_ref,person_ref,incident_date,incident_type,role,postcode';

/** The sample's incident rows (cycled for their valid types, roles and people) as N rows with their own refs. */
async function rows(): Promise<string[]> {
  const sample: string[] = [];
  for (const dt of ['2026-07-31', '2026-10-31']) {
    const lines = (await readFile(join(SAMPLE, 'incidents', `dt=${dt}`, 'incidents.csv'), 'utf8'))
      .trim()
      .split('\n')
      .slice(1);
    sample.push(...lines);
  }
  const out: string[] = [];
  for (let i = 0; i < N; i++) {
    const f = sample[i % sample.length]!.split(',');
    f[0] = `PIR${String(10_000_000 + i)}`;
    f[1] = `INC${String(20_000_000 + Math.floor(i / 2))}`;
    f[3] = `2026-08-${String(1 + (i % 28)).padStart(2, '0')}`; // before the first extract date
    out.push(f.join(','));
  }
  return out;
}

const folderDate = (k: number) => new Date(Date.UTC(2026, 8, 1 + k)).toISOString().slice(0, 10);

async function generate(kind: 'small' | 'one'): Promise<string> {
  const landing = join(DIR, `${kind}-${N}`, 'landing');
  if (existsSync(join(landing, '.complete'))) return landing;
  await rm(landing, { recursive: true, force: true });
  await mkdir(join(landing, 'police'), { recursive: true });
  await cp(join(SAMPLE, 'people'), join(landing, 'police', 'people'), { recursive: true });
  const all = await rows();
  if (kind === 'one') {
    await mkdir(join(landing, 'police/incidents', `dt=${AS_AT}`), { recursive: true });
    await writeFile(
      join(landing, 'police/incidents', `dt=${AS_AT}`, 'incidents.csv'),
      `${HEADER}\n${all.join('\n')}\n`,
    );
  } else {
    for (let k = 0; k < FOLDERS; k++)
      await mkdir(join(landing, 'police/incidents', `dt=${folderDate(k)}`), { recursive: true });
    for (let i = 0; i < all.length; i++) {
      const folder = `dt=${folderDate(i % FOLDERS)}`;
      await writeFile(
        join(landing, 'police/incidents', folder, `incidents-${String(i).padStart(6, '0')}.csv`),
        `${HEADER}\n${all[i]}\n`,
      );
    }
  }
  await writeFile(join(landing, '.complete'), '');
  return landing;
}

interface Measured {
  files: number;
  rows: number;
  validateS: number;
  standardiseS: number;
  facts: number;
  peakRssMiB: number;
}

/** In the child: validate the two police feeds, then standardise, on a fresh out dir. */
async function child(landing: string): Promise<void> {
  const out = join(dirname(landing), 'out');
  await rm(out, { recursive: true, force: true });
  const stores = localStores(landing, out);
  const runId = `${AS_AT}-bench`;
  const config = runConfigSchema.parse({});
  await writeManifest(stores.outputs, {
    manifestVersion: MANIFEST_VERSION,
    runId,
    asAt: AS_AT,
    status: 'running',
    startedAt: new Date().toISOString(),
    ranBy: 'bench',
    codeVersion: 'bench',
    config: { version: config.configVersion, sha256: '', value: config },
    inputs: [],
    stages: [],
  });
  const ctx: StageContext = {
    runId,
    asAt: AS_AT,
    stores,
    config,
    log: silentLog,
    progress: noProgress,
    runtime: localRuntime(),
  };
  const t0 = performance.now();
  await validateStage(ctx, { source: 'police', feed: 'people' });
  const incidents = await validateStage(ctx, { source: 'police', feed: 'incidents' });
  const t1 = performance.now();
  const std = await standardiseStage(ctx, {});
  const t2 = performance.now();
  const m: Measured = {
    files: incidents.counts.files!,
    rows: incidents.counts.rows!,
    validateS: (t1 - t0) / 1000,
    standardiseS: (t2 - t1) / 1000,
    facts: std.counts.facts!,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
  process.stdout.write(`${JSON.stringify(m)}\n`);
}

function measure(landing: string): Measured {
  const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', landing], {
    cwd: ROOT,
    maxBuffer: 1 << 24,
    stdio: ['ignore', 'pipe', 'inherit'],
  }).toString();
  return JSON.parse(out.trim().split('\n').pop()!) as Measured;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3]!);
  const small = await generate('small');
  const one = await generate('one');
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  console.log(
    `small files: ${N} one-row police/incidents extracts in ${FOLDERS} dt= folders (and police/people); ${availableParallelism()} cores; load ${load()}`,
  );
  const base = measure(one);
  const m = measure(small);
  const row = (label: string, x: Measured) => {
    const total = x.validateS + x.standardiseS;
    return `  ${label.padEnd(22)} files ${String(x.files).padStart(6)}  rows ${String(x.rows).padStart(6)}  validate ${x.validateS.toFixed(1).padStart(6)} s  standardise ${x.standardiseS.toFixed(1).padStart(6)} s  total ${total.toFixed(1).padStart(6)} s  ${(x.files / total).toFixed(0).padStart(6)} files/s  peak RSS ${x.peakRssMiB.toFixed(0)} MiB  facts ${x.facts}`;
  };
  console.log(row('baseline: one file', base));
  console.log(row(`${N} one-row files`, m));
  console.log(
    `  ratio (small files / one file): ${((m.validateS + m.standardiseS) / (base.validateS + base.standardiseS)).toFixed(1)}x time, ${(m.peakRssMiB / base.peakRssMiB).toFixed(2)}x peak RSS; same facts: ${m.facts === base.facts}; load after ${load()}`,
  );
  console.log(
    '  before batching (issue #14): 722 s for validate at 10,000 files, then standardise out of memory after 810 s',
  );
}

await main();
