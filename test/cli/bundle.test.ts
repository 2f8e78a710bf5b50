/**
 * The `locality` bin runs a prebuilt bundle (bin/build-cli.mjs -> dist/cli/): it must behave as the TypeScript does,
 * find every file the source finds relative to itself (package.json, lookups, the worker-thread entry files), rebuild
 * itself when a source file changes, and list every command in its help from the lazy command table.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS, buildProgram, commandNamed } from '../../pipelines/cli/main.ts';
import { wantedHeapMiB } from '../../bin/heap.mjs';

const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'locality.mjs');
const SAMPLE = join(ROOT, 'fixtures', 'samples', 'small', 'landing');
let dir: string;

/** The bin under the same Node, from the repository root, without the tsx fallback. */
const locality = (args: string[]) =>
  exec(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, LOCALITY_CLI: '' }, maxBuffer: 1 << 24 });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'locality-bundle-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the lazy command table', () => {
  it("each command's one-line summary is the description its module registers, and nothing else is registered", async () => {
    for (const entry of COMMANDS) {
      const program = new Command('locality');
      (await entry.load()).register(program);
      expect(program.commands.map((c) => [c.name(), c.description()])).toEqual([[entry.name, entry.summary]]);
    }
  });

  it('loads only the named command (or, with `help <name>`, that one), and every command for a full program', async () => {
    expect(commandNamed(['run', '--landing', 'x'])?.name).toBe('run');
    expect(commandNamed(['help', 'privacy-scan'])?.name).toBe('privacy-scan');
    expect(commandNamed(['--help'])).toBeUndefined();
    const lazy = await buildProgram(['feeds', 'docs', '--check']);
    expect(lazy.commands.find((c) => c.name() === 'feeds')!.commands.map((c) => c.name())).toEqual(['docs']);
    expect(lazy.commands.find((c) => c.name() === 'run')!.options).toEqual([]); // a stub: run.ts not loaded
    const full = await buildProgram();
    expect(full.commands.find((c) => c.name() === 'run')!.options.map((o) => o.long)).toContain('--landing');
  });
});

describe('the bundled bin', () => {
  it(
    'answers --help from the bundle, listing every command, and rebuilds itself when a source file is newer',
    { timeout: 120_000 },
    async () => {
      await locality(['--version']); // builds the bundle if it is missing or stale
      const current = JSON.parse(await readFile(join(ROOT, 'dist', 'cli', 'current.json'), 'utf8')) as { id: string };
      const build = JSON.parse(await readFile(join(ROOT, 'dist', 'cli', current.id, 'build.json'), 'utf8')) as {
        inputs: string[];
      };
      expect(build.inputs).toContain('pipelines/cli/main.ts');
      expect(build.inputs).toContain('pipelines/stages/match.ts');
      expect(build.inputs.some((p) => p.includes('node_modules'))).toBe(false);

      const help = await locality(['--help']);
      expect(help.stderr).toBe('');
      for (const c of COMMANDS) expect(help.stdout).toContain(`  ${c.name}`);

      const source = join(ROOT, 'pipelines', 'cli', 'main.ts');
      const before = await stat(source);
      const future = new Date(Date.now() + 2_000);
      try {
        await utimes(source, future, future);
        const rebuilt = await locality(['--version']);
        expect(rebuilt.stderr).toMatch(
          /^locality: built the CLI bundle dist\/cli\/\S+ \(\d+ source files, \d+ ms\)\n$/,
        );
        expect(rebuilt.stdout.trim()).toBe(JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')).version);
      } finally {
        await utimes(source, before.atime, before.mtime);
      }
    },
  );

  it(
    'runs the whole pipeline on the committed sample, worker threads included (standardise events, privacy scan)',
    { timeout: 300_000 },
    async () => {
      const out = join(dir, 'run');
      const r = await exec(process.execPath, [BIN, 'run', '--landing', SAMPLE, '--out', out], {
        cwd: ROOT,
        env: { ...process.env, LOCALITY_CLI: '', LOG_LEVEL: 'info', NODE_OPTIONS: '', LOCALITY_HEAP_RELAUNCHED: '' },
        maxBuffer: 1 << 24,
      });
      expect(r.stdout).toMatch(/^as-at 2026-10-31: run 2026-10-31-[0-9a-f]{12} finished/);
      // a population command runs with a heap sized to the machine (bin/heap.mjs), not V8's default of ~4 GiB
      const starting = r.stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { message: string; heapLimitMiB?: number })
        .find((l) => l.message === 'run starting');
      expect(starting?.heapLimitMiB).toBeGreaterThanOrEqual(wantedHeapMiB());
      const manifest = JSON.parse(
        await readFile(join(out, 'outputs', 'as_at=2026-10-31', 'manifest.json'), 'utf8'),
      ) as { status: string; codeVersion: string; stages: Array<{ name: string; status: string }> };
      expect(manifest.status).toBe('ok');
      expect(manifest.stages.map((s) => [s.name, s.status])).toEqual(
        ['validate', 'standardise', 'match', 'families', 'stratify', 'publish'].map((s) => [s, 'ok']),
      );
      expect(manifest.codeVersion).toMatch(/^git:[0-9a-f]{40}/); // git run from the source tree, found from the bundle
      expect(r.stdout).toMatch(/target lists\s+\S+target-lists\/index\.html/);
    },
  );

  it(
    'links with shard worker threads (matching/shard-worker.ts) exactly as in-process',
    { timeout: 120_000 },
    async () => {
      const args = (out: string, workers: number) => [
        'link',
        '--settings',
        'test/fixtures/link/settings.json',
        '--out',
        out,
        '--workers',
        String(workers),
        'test/fixtures/link/people.csv',
      ];
      await locality(args(join(dir, 'w0'), 0));
      const two = await locality(args(join(dir, 'w2'), 2));
      expect(two.stdout).toMatch(/^linked 30 records: .*15 clusters/);
      for (const f of ['clusters.csv', 'pairs.csv']) {
        expect(await readFile(join(dir, 'w2', f), 'utf8')).toBe(await readFile(join(dir, 'w0', f), 'utf8'));
      }
    },
  );
});
