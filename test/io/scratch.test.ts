import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../../pipelines/io/local-object-store.ts';
import { processScratch, SCRATCH_DIR, sweepScratch } from '../../pipelines/io/scratch.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'locality-scratch-test-'));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

const host = hostname().replace(/[^A-Za-z0-9.]/g, '_');

describe('scratch folders', () => {
  it('a sweep removes the folders of processes that are gone and keeps the living ones', async () => {
    const root = join(dir, 'scratch');
    const deadPid = Number(
      execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).toString(),
    );
    const mine = processScratch(root);
    const names = {
      dead: `${host}-${deadPid}-0badf00d`,
      alive: `${host}-${process.ppid}-0badf00d`,
      mine: mine.slice(root.length + 1),
      restartedRuntime: `${host}-${process.pid}-0badf00d`, // this pid, not made by this process (Lambda runtime restarted)
      otherHostFresh: 'elsewhere-1-0badf00d',
      otherHostOld: 'elsewhere-2-0badf00d',
      stray: 'locality-duckdb-x',
    };
    for (const n of Object.values(names)) {
      await mkdir(join(root, n, 'spill'), { recursive: true });
      await writeFile(join(root, n, 'spill', 'rows.ndjson'), '{"surname":"clear"}\n');
    }
    const old = (Date.now() - 30 * 3_600_000) / 1000;
    await utimes(join(root, names.otherHostOld), old, old);
    const removed = await sweepScratch(root);
    expect(removed.sort()).toEqual([names.dead, names.otherHostOld, names.restartedRuntime, names.stray].sort());
    expect((await readdir(root)).sort()).toEqual([names.alive, names.mine, names.otherHostFresh].sort());
  });
});

describe('LocalObjectStore writes through its scratch folder', () => {
  it('temp file in scratch, then a rename: nothing beside the target, nothing left in scratch, scratch never listed', async () => {
    const secure = join(dir, 'secure');
    const scratch = join(secure, SCRATCH_DIR, 'me');
    const store = new LocalObjectStore(secure, { scratch });
    await store.put('as_at=2026-01-31/a.json', '{"a":1}');
    await store.put('as_at=2026-01-31/a.json', '{"a":2}');
    expect(await readdir(join(secure, 'as_at=2026-01-31'))).toEqual(['a.json']);
    expect(await readdir(scratch)).toEqual([]);
    expect((await store.get('as_at=2026-01-31/a.json')).toString()).toBe('{"a":2}');
    await writeFile(join(scratch, 'left-by-someone'), 'x');
    expect((await store.list('')).map((o) => o.key)).toEqual(['as_at=2026-01-31/a.json']);
  });

  it('a write that fails part-way leaves the old object whole and no temp file', async () => {
    const secure = join(dir, 'secure');
    const scratch = join(secure, SCRATCH_DIR, 'me');
    const store = new LocalObjectStore(secure, { scratch });
    await store.put('t/x.parquet', 'old complete');
    const failing = new Readable({
      read() {
        this.push(Buffer.from('half of the new'));
        this.destroy(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
      },
    });
    await expect(store.put('t/x.parquet', failing)).rejects.toThrow('ENOSPC');
    expect((await store.get('t/x.parquet')).toString()).toBe('old complete');
    expect(await readdir(scratch)).toEqual([]);
    expect(await readdir(join(secure, 't'))).toEqual(['x.parquet']);
  });
});
