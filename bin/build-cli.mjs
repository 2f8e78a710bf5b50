#!/usr/bin/env node
/**
 * Builds the `locality` CLI bundle: pipelines/cli/main.ts and everything it imports from this repository, as ESM
 * chunks under dist/cli/<build id>/ (a chunk per lazily imported command), packages left to node_modules (the
 * native @duckdb/node-api among them). Run by `npm ci`/`npm install` (the `prepare` script) and by bin/locality.mjs
 * whenever a source file is newer than the bundle, so a checkout never runs a stale CLI.
 *
 * Each bundled file keeps its own `import.meta.url` (rewritten to the URL of its source file in this checkout), so
 * paths computed from it (package.json, fixtures/lookups, the worker-thread entry files such as
 * matching/shard-worker.ts, git for the code version) resolve exactly as when the source runs under tsx.
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI_DIST = join(REPO_ROOT, 'dist', 'cli');
export const CURRENT = join(CLI_DIST, 'current.json');
const ENTRY = 'pipelines/cli/main.ts';
/** This file: a change to how the bundle is built makes every bundle stale. */
const RECIPE = 'bin/build-cli.mjs';
/** Builds kept besides the current one (a CLI still running from an older build keeps its lazy chunks). */
const KEEP_OLD_BUILDS = 2;

/** Rewrites `import.meta.url` in our own TypeScript to the source file's URL, found from the chunk's own URL. */
function sourceUrlPlugin(chunkDepth) {
  const up = '../'.repeat(chunkDepth);
  return {
    name: 'source-import-meta-url',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        if (args.path.includes(`${'/'}node_modules${'/'}`)) return undefined;
        const rel = relative(REPO_ROOT, args.path).split('\\').join('/');
        const src = readFileSync(args.path, 'utf8');
        const url = `new URL(${JSON.stringify(rel)}, new URL(${JSON.stringify(up)}, import.meta.url)).href`;
        return { contents: src.replace(/\bimport\.meta\.url\b/g, url), loader: 'ts' };
      });
    },
  };
}

/** The current bundle's entry file, or null when there is none or one of its source files changed since it was built. */
export function freshBundle() {
  let build;
  try {
    const { id } = JSON.parse(readFileSync(CURRENT, 'utf8'));
    build = JSON.parse(readFileSync(join(CLI_DIST, id, 'build.json'), 'utf8'));
  } catch {
    return null;
  }
  for (const input of new Set([...build.inputs, RECIPE])) {
    try {
      if (statSync(join(REPO_ROOT, input)).mtimeMs >= build.builtAt) return null;
    } catch {
      return null; // a source file was removed or renamed
    }
  }
  return join(CLI_DIST, build.id, build.entry);
}

/** Builds a new bundle and makes it current; returns its entry file. */
export async function buildCli({ quiet = false } = {}) {
  const { build } = await import('esbuild');
  mkdirSync(CLI_DIST, { recursive: true });
  const id = `b${Date.now().toString(36)}-${process.pid}`;
  const tmp = join(CLI_DIST, `${id}.tmp`);
  const outdir = join(CLI_DIST, id);
  const started = Date.now();
  const result = await build({
    absWorkingDir: REPO_ROOT,
    entryPoints: { main: ENTRY },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    packages: 'external',
    outdir: tmp,
    chunkNames: '[name]-[hash]',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    // dist/cli/<id>/<chunk>.js: three levels below the repository root
    plugins: [sourceUrlPlugin(3)],
  });
  // the sources bundled, and this recipe: a change to either makes the bundle stale
  const inputs = [...Object.keys(result.metafile.inputs).filter((p) => !p.includes('node_modules/')), RECIPE].sort();
  writeFileSync(
    join(tmp, 'build.json'),
    `${JSON.stringify({ id, builtAt: started, entry: 'main.js', inputs }, null, 2)}\n`,
  );
  renameSync(tmp, outdir);
  writeFileSync(`${CURRENT}.${process.pid}`, `${JSON.stringify({ id })}\n`);
  renameSync(`${CURRENT}.${process.pid}`, CURRENT);
  pruneOldBuilds(id);
  if (!quiet)
    process.stderr.write(
      `locality: built the CLI bundle dist/cli/${id} (${inputs.length} source files, ${Date.now() - started} ms)\n`,
    );
  return join(outdir, 'main.js');
}

function pruneOldBuilds(currentId) {
  const builds = readdirSync(CLI_DIST, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== currentId && !d.name.endsWith('.tmp'))
    .map((d) => d.name)
    .sort()
    .reverse();
  for (const old of builds.slice(KEEP_OLD_BUILDS)) rmSync(join(CLI_DIST, old), { recursive: true, force: true });
}

/** Whether esbuild is installed (a devDependency: absent from a production install, where the bin runs tsx). */
export async function canBuild() {
  try {
    await import('esbuild');
    return true;
  } catch {
    return false;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (await canBuild()) await buildCli();
  else process.stderr.write('locality: esbuild is not installed (production install?): the CLI will run through tsx\n');
}
