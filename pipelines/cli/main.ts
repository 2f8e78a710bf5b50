/**
 * The `locality` CLI: `npm run locality -- <command> [options]` from a checkout, or the package bin.
 * Each command lives in ./commands/<name>.ts and exports `register(program)`; add new ones to the list below.
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const pkg = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json'), 'utf8')) as { version: string };

type Register = (program: Command) => void;
const commandModules: Array<() => Promise<{ register: Register }>> = [
  // one line per command module, in the order they appear in --help
  () => import('./commands/generate.ts'),
  () => import('./commands/tokenise.ts'),
  () => import('./commands/feeds.ts'),
  () => import('./commands/validate.ts'),
  () => import('./commands/start.ts'),
  () => import('./commands/run.ts'),
  () => import('./commands/backfill.ts'),
  () => import('./commands/link.ts'),
  () => import('./commands/explain.ts'),
  () => import('./commands/review.ts'),
  () => import('./commands/privacy.ts'),
];

export async function buildProgram(): Promise<Command> {
  const program = new Command('locality')
    .description('Locality data-matching and risk stratification pipeline (embedded default: local files + DuckDB)')
    .version(pkg.version)
    .showHelpAfterError('(add --help for usage)');
  for (const load of commandModules) (await load()).register(program);
  return program;
}

export async function main(): Promise<void> {
  const program = await buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    // A clear, single-line error for users; the stack only when asked for.
    process.stderr.write(`error: ${(err as Error).message}\n`);
    if (process.env.DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
