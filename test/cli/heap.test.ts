/**
 * bin/heap.mjs: a command that runs the pipeline over a whole population relaunches Node with a heap sized to the
 * machine (V8's default is ~4 GiB per thread; families' merge passes it at ~525,000 families), unless the caller
 * chose a heap limit. Checked on a real child process: the relaunched process's heap limit, and its exit code.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heapChosen, wantedHeapMiB } from '../../bin/heap.mjs';

const exec = promisify(execFile);
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
const code = await relaunchWithHeap(6000);
if (code !== null) process.exit(code);
console.log(JSON.stringify({ limitMiB: Math.floor(getHeapStatistics().heap_size_limit / 2 ** 20), arg: process.argv[2] }));
process.exit(3);
`,
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const probe = async (env: Record<string, string>) => {
  try {
    await exec(process.execPath, [script, 'kept'], { env: { ...process.env, LOCALITY_HEAP_RELAUNCHED: '', ...env } });
    throw new Error('the probe should exit 3');
  } catch (e) {
    const err = e as { code: number; stdout: string };
    return { code: err.code, ...(JSON.parse(err.stdout) as { limitMiB: number; arg: string }) };
  }
};

describe('the heap of a population run', () => {
  it('is relaunched with the heap asked for, arguments and exit code passed through', async () => {
    const r = await probe({ NODE_OPTIONS: '' });
    expect(r.code).toBe(3);
    expect(r.arg).toBe('kept');
    expect(r.limitMiB).toBeGreaterThanOrEqual(6000);
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
