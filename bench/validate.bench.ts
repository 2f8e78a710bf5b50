/**
 * `npm run bench:validate`: the validate stage on a large people-feed CSV (default >= 1 GiB), against a
 * baseline measured in the same run on the same file: raw line counting (read the bytes, count LFs).
 * Prints rows/s, MB/s and peak RSS of each, and the ratios. Each measurement runs in its own child process,
 * so peak RSS is that measurement's own.
 *
 *   BENCH_VALIDATE_MB=1024   size of the generated file in MiB (default 1024)
 *   BENCH_DIR=/tmp/locality-bench-validate   where the file is generated (reused when already there)
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runConfigSchema } from '../pipelines/config.ts';
import { LocalObjectStore } from '../pipelines/io/local-object-store.ts';
import { silentLog } from '../pipelines/log.ts';
import { noProgress } from '../pipelines/progress.ts';
import { localRuntime } from '../pipelines/runtime.ts';
import { validateStage } from '../pipelines/stages/validate.ts';
import { contractFor } from '../pipelines/feeds/index.ts';
import { readCsv } from '../pipelines/io/csv.ts';

const MB = 1024 * 1024;
const targetMb = Number(process.env.BENCH_VALIDATE_MB ?? 1024);
const dir = process.env.BENCH_DIR ?? '/tmp/locality-bench-validate';
const extract = '2026-01-10';
const key = `health/people/dt=${extract}/people.csv`;
const file = join(dir, 'landing', ...key.split('/'));
const HEADER = 'person_ref,nhs_number_token,forename,surname,date_of_birth,sex,postcode,address_line_1,gp_practice';

const FORENAMES = [
  'Amelia',
  'Olivia',
  'Mohammed',
  'Muhammad',
  'Katarzyna',
  'Kasia',
  'Robert',
  'Bob',
  'Zoë',
  'Aisha',
  'Jack',
  'Noah',
  'Isla',
  'Leo',
  'Freya',
];
const SURNAMES = [
  'Smith',
  'Jones',
  'Khan',
  'Ahmed',
  'Nowak',
  'Smith-Jones',
  "O'Neil",
  'Williams',
  'Begum',
  'Brown',
  'Kowalski',
  'Taylor',
];
const STREETS = ['Platt Lane', 'Wilbraham Rd', 'High St', 'Oxford Road', 'Princess Parkway', 'Mauldeth Road West'];

/** Deterministic xorshift32. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

async function generate(): Promise<void> {
  if (existsSync(file) && statSync(file).size >= targetMb * MB) return;
  await mkdir(dirname(file), { recursive: true });
  const ws = createWriteStream(`${file}.partial`, { highWaterMark: 4 * MB });
  const r = rng(20260110);
  const pick = <T>(a: readonly T[]) => a[Math.floor(r() * a.length)]!;
  const hex = '0123456789abcdef';
  let bytes = 0;
  let n = 0;
  ws.write(`${HEADER}\r\n`);
  while (bytes < targetMb * MB) {
    let out = '';
    for (let i = 0; i < 5000; i++) {
      n++;
      let tok = '';
      if (r() < 0.9) for (let k = 0; k < 64; k++) tok += hex[Math.floor(r() * 16)];
      const y = 1950 + Math.floor(r() * 76);
      const m = 1 + Math.floor(r() * 12);
      const d = 1 + Math.floor(r() * 28);
      let dob = `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
      const roll = r();
      if (roll < 0.003)
        dob = `${y}-02-30`; // invalid date -> quarantine
      else if (roll < 0.005) tok = tok.toUpperCase(); // bad token shape -> quarantine
      const addr =
        r() < 0.2
          ? `"Flat ${1 + Math.floor(r() * 20)}, ${1 + Math.floor(r() * 300)} ${pick(STREETS)}"`
          : `${1 + Math.floor(r() * 300)} ${pick(STREETS)}`;
      const line = `H${String(n).padStart(9, '0')},${tok},${pick(FORENAMES)},${pick(SURNAMES)},${dob},${r() < 0.5 ? 'F' : 'M'},M${1 + Math.floor(r() * 40)} ${Math.floor(r() * 10)}${pick(['AB', 'RB', 'XT', 'QQ'])},${addr},P84${String(Math.floor(r() * 1000)).padStart(3, '0')}\r\n`;
      out += line;
    }
    bytes += Buffer.byteLength(out);
    if (!ws.write(out)) await new Promise<void>((res) => ws.once('drain', () => res()));
  }
  await new Promise<void>((res, rej) => ws.end((e?: Error | null) => (e ? rej(e) : res())));
  const { rename } = await import('node:fs/promises');
  await rename(`${file}.partial`, file);
}

interface Measure {
  name: string;
  seconds: number;
  cpuSeconds: number;
  rows: number;
  bytes: number;
  peakRssMb: number;
  peakHeapMb: number;
  extra?: Record<string, number>;
}

async function child(kind: string): Promise<void> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let peakHeap = 0;
  const sampler = setInterval(() => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }, 100);
  let rows = 0;
  let extra: Record<string, number> | undefined;
  const bytes = statSync(file).size;
  if (kind === 'count-lines') {
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 16 })) {
      const b = chunk as Buffer;
      let i = -1;
      while ((i = b.indexOf(10, i + 1)) !== -1) rows++;
    }
    rows -= 1; // header
  } else if (kind === 'csv-read' || kind === 'csv+schema') {
    // The layers of validate on their own: the CSV reader alone, then the reader plus the zod row schema.
    const contract = contractFor('health', 'people')!;
    const schema = contract.rowSchema(extract);
    const columns = Object.keys(contract.fields);
    const stats = { bytes: 0, sha256: '', blankLines: 0 };
    let bad = 0;
    let header = true;
    for await (const batch of readCsv(createReadStream(file, { highWaterMark: 1 << 16 }), stats)) {
      for (const rec of batch) {
        if (header) {
          header = false;
          continue;
        }
        rows++;
        if (kind === 'csv+schema') {
          const row: Record<string, string> = {};
          for (let i = 0; i < columns.length; i++) row[columns[i]!] = rec.fields[i] ?? '';
          if (rec.fields.length !== columns.length || !schema.safeParse(row).success) bad++;
        }
      }
    }
    extra = { bad };
  } else {
    const out = join(dir, 'out');
    await rm(out, { recursive: true, force: true });
    const stores = {
      landing: new LocalObjectStore(join(dir, 'landing')),
      secure: new LocalObjectStore(join(out, 'secure')),
      curated: new LocalObjectStore(join(out, 'curated')),
      outputs: new LocalObjectStore(join(out, 'outputs')),
    };
    const res = await validateStage(
      {
        runId: 'bench',
        asAt: '2026-01-15',
        stores,
        config: runConfigSchema.parse({}),
        log: silentLog,
        progress: noProgress,
        runtime: localRuntime(),
      },
      { source: 'health', feed: 'people' },
    );
    rows = res.counts.rows!;
    extra = { accepted: res.counts.accepted!, quarantined: res.counts.quarantined! };
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  const m: Measure = {
    name: kind,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    rows,
    bytes,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    peakHeapMb: peakHeap / MB,
    ...(extra ? { extra } : {}),
  };
  process.stdout.write(`${JSON.stringify(m)}\n`);
}

async function main(): Promise<void> {
  const kind = process.argv[2];
  if (kind) return child(kind);
  process.stdout.write(`validate benchmark: ${targetMb} MiB health/people CSV under ${dir}\n`);
  const g0 = performance.now();
  await generate();
  process.stdout.write(
    `file ready: ${(statSync(file).size / MB).toFixed(0)} MiB (${((performance.now() - g0) / 1000).toFixed(1)} s to generate or reuse)\n`,
  );
  const self = fileURLToPath(import.meta.url);
  const run = (k: string): Measure =>
    JSON.parse(
      execFileSync(process.execPath, ['--import', 'tsx', self, k], { encoding: 'utf8', maxBuffer: 1 << 20 })
        .trim()
        .split('\n')
        .pop()!,
    ) as Measure;
  const base = run('count-lines');
  const reader = run('csv-read');
  const schema = run('csv+schema');
  const val = run('validate');
  const fmt = (m: Measure) =>
    `${m.name.padEnd(12)} ${m.seconds.toFixed(1).padStart(7)} s wall ${m.cpuSeconds.toFixed(1).padStart(7)} s CPU  ${Math.round(
      m.rows / m.seconds,
    )
      .toLocaleString('en-GB')
      .padStart(11)} rows/s  ${(m.bytes / MB / m.seconds).toFixed(1).padStart(7)} MB/s  ${Math.round(
      m.rows / m.cpuSeconds,
    )
      .toLocaleString('en-GB')
      .padStart(
        11,
      )} rows/CPU-s  peak RSS ${m.peakRssMb.toFixed(0).padStart(5)} MB  peak JS heap ${m.peakHeapMb.toFixed(0).padStart(4)} MB`;
  process.stdout.write(
    `${fmt(base)}  (baseline: raw LF counting)\n${fmt(reader)}  (the CSV reader alone)\n${fmt(schema)}  (reader + zod row schema)\n${fmt(val)}  rows ${val.rows.toLocaleString('en-GB')} = accepted ${val.extra!.accepted!.toLocaleString('en-GB')} + quarantined ${val.extra!.quarantined!.toLocaleString('en-GB')}\n`,
  );
  process.stdout.write(
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(
        ' ',
      )} on ${availableParallelism()} cores (wall-clock figures suffer on a shared machine; CPU-seconds less so)\n`,
  );
  process.stdout.write(
    `validate is ${(val.seconds / base.seconds).toFixed(1)}x the wall time (${(val.cpuSeconds / base.cpuSeconds).toFixed(1)}x the CPU time) of raw line counting; peak RSS ${val.peakRssMb.toFixed(0)} MB for a ${(val.bytes / MB).toFixed(0)} MiB file (${(val.peakRssMb / (val.bytes / MB)).toFixed(2)} MB per MiB)\n`,
  );
}

await main();
