#!/usr/bin/env node
/**
 * Package bin. Runs the prebuilt CLI bundle (dist/cli: built by `npm ci` through the `prepare` script, and rebuilt
 * here first whenever one of its source files is newer, so it is never stale). Without esbuild (a production install)
 * or with LOCALITY_CLI=tsx it runs the TypeScript source through tsx instead (seconds slower per call).
 */
import { join } from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT, buildCli, canBuild, freshBundle } from './build-cli.mjs';
import { relaunchWithHeap } from './heap.mjs';

/** Commands that run the pipeline over a whole population: they get a heap sized to the machine (bin/heap.mjs). */
const POPULATION_COMMANDS = new Set(['start', 'run', 'backfill']);

async function entry() {
  const bundle = process.env.LOCALITY_CLI === 'tsx' ? null : freshBundle();
  if (bundle) return bundle;
  if (process.env.LOCALITY_CLI !== 'tsx' && (await canBuild())) return buildCli();
  const { register } = await import('tsx/esm/api');
  register();
  return join(REPO_ROOT, 'pipelines', 'cli', 'main.ts');
}

if (POPULATION_COMMANDS.has(process.argv.slice(2).find((a) => !a.startsWith('-')) ?? '')) {
  relaunchWithHeap(); // returns only when this process goes on as it is
}
if (process.env.DEBUG) process.setSourceMapsEnabled(true);
const { main } = await import(pathToFileURL(await entry()).href);
await main();
