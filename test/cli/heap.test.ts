/**
 * bin/heap.mjs: a command that runs the pipeline over a whole population relaunches Node with a heap sized to the
 * machine (V8's default is ~4 GiB per thread; families' merge passes it at ~525,000 families), unless the caller
 * chose a heap limit. Checked on a real child process: its heap limit once started again, that it is still the same
 * process (a kill of the CLI's pid must stop the run, not leave a child running with the run lock), its exit code.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heapChosen, wantedHeapMiB } from '../../bin/heap.mjs';

const HEAP = pathToFileURL(join(import.meta.dirname, '..', '..', 'bin', 'heap.mjs')).href;
let dir: string;
let script: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'locality-heap-test-'));
  script = join(dir, 'probe.mjs');
  // asks for 6,000 MiB; prints the heap limit it ends up with and exits 3 (the parent must pass that code on)
  await writeFile(
    script,
    `import { getHeapStatistics } from 'node:v8';
import { relaunchWithHeap } from ${JSON.stringify(HEAP)};
relaunchWithHeap(6000);
console.log(JSON.stringify({ limitMiB: Math.floor(getHeapStatistics().heap_size_limit / 2 ** 20), arg: process.argv[2], pid: process.pid }));
process.exit(3);
`,
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the probe; its exit code, what it printed, and the pid it was started as. */
const probe = (env: Record<string, string>) =>
  new Promise<{ code: number | null; limitMiB: number; arg: string; pid: number; startedAs: number }>((done, fail) => {
    const child = spawn(process.execPath, [script, 'kept'], {
      env: { ...process.env, LOCALITY_HEAP_RELAUNCHED: '', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, startedAs: child.pid!, ...JSON.parse(out) }));
  });

describe('the heap of a population run', () => {
  it('is started again in place with the heap asked for: the same process, arguments and exit code', async () => {
    const r = await probe({ NODE_OPTIONS: '' });
    expect(r.code).toBe(3);
    expect(r.arg).toBe('kept');
    expect(r.limitMiB).toBeGreaterThanOrEqual(6000);
    expect(r.pid).toBe(r.startedAs);
  });

  it("keeps the caller's own heap limit (NODE_OPTIONS) instead of relaunching", async () => {
    const r = await probe({ NODE_OPTIONS: '--max-old-space-size=1024' });
    expect(r.code).toBe(3);
    expect(r.limitMiB).toBeLessThan(2048);
  });

  it('asks for three quarters of the machine, never less than V8 gives by default', () => {
    expect(wantedHeapMiB(24 * 2 ** 30)).toBe(18432);
    expect(wantedHeapMiB(2 * 2 ** 30)).toBe(4096);
    expect(heapChosen(['--max_old_space_size=8000'], '')).toBe(true);
    expect(heapChosen([], '--enable-source-maps --max-old-space-size=8000')).toBe(true);
    expect(heapChosen(['--max-semi-space-size=64'], '--enable-source-maps')).toBe(false);
  });
});
