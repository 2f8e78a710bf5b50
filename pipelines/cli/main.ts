/**
 * The `locality` CLI: `npm run locality -- <command> [options]` from a checkout, or the package bin.
 * Each command lives in ./commands/<name>.ts and exports `register(program)`; add new ones to the table below.
 *
 * Start-up is lazy: only the module of the command being run is loaded (its imports pull in DuckDB, the AWS SDK,
 * aws-cdk-lib...), so `locality --help` and a cheap command start fast. The top-level help lists the commands from
 * the `summary` below; a test checks each summary is the description its module registers.
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

type Register = (program: Command) => void;

export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<{ register: Register }>;
}

/** One entry per command module, in the order they appear in --help. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'generate',
    summary:
      'Generate seeded synthetic partnership data: landing extracts for every catalogue feed, plus ground truth under <out>/truth',
    load: () => import('./commands/generate.ts'),
  },
  {
    name: 'tokenise',
    summary:
      'For data providers: replace NHS number / UPN columns with HMAC-SHA256 tokens (validated, normalised); invalid rows go to a rejects file',
    load: () => import('./commands/tokenise.ts'),
  },
  { name: 'feeds', summary: 'Feed contracts for data providers', load: () => import('./commands/feeds.ts') },
  {
    name: 'validate',
    summary:
      'Check a landing directory for an as-at date (validate stage only): per-file counts, rejected files, quarantine location',
    load: () => import('./commands/validate.ts'),
  },
  {
    name: 'start',
    summary: 'generate the default synthetic data if absent, then run the whole pipeline on it (what `npm start` does)',
    load: () => import('./commands/start.ts'),
  },
  {
    name: 'run',
    summary: 'run the whole pipeline for one as-at date on this machine (the deployed state machine, executed locally)',
    load: () => import('./commands/run.ts'),
  },
  {
    name: 'backfill',
    summary:
      'run the pipeline for every month or week between two dates (idempotent, resumable; --cloud runs it on AWS)',
    load: () => import('./commands/backfill.ts'),
  },
  {
    name: 'link',
    summary:
      'Fellegi-Sunter linkage of any CSV/Parquet with a settings file: one input dedupes, two inputs link (settings.linkType)',
    load: () => import('./commands/link.ts'),
  },
  {
    name: 'explain',
    summary:
      "print the whole breakdown of one family's score: members and why, rules met with evidence, rules not met, tier",
    load: () => import('./commands/explain.ts'),
  },
  {
    name: 'review',
    summary: 'Clerical review of pairs around the match threshold: export a sample, import decisions',
    load: () => import('./commands/review.ts'),
  },
  {
    name: 'signoff',
    summary:
      'information governance sign-off of a run held for it (publish.requireSignoff): approve releases it, reject keeps it staged',
    load: () => import('./commands/signoff.ts'),
  },
  {
    name: 'privacy-scan',
    summary:
      "Scan a run's published outputs and curated tables for clear identifiers from the secure zone (names file, place and kind, never the value)",
    load: () => import('./commands/privacy.ts'),
  },
  { name: 'outcomes', summary: 'Contact outcomes from early help leads', load: () => import('./commands/outcomes.ts') },
  {
    name: 'query',
    summary:
      "Run the example queries (the Athena workgroup's named queries) on a local run through DuckDB, or on Athena with --athena",
    load: () => import('./commands/query.ts'),
  },
];

function version(): string {
  const pkgPath = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json');
  return (JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string }).version;
}

function newProgram(): Command {
  return new Command('locality')
    .description('Locality data-matching and risk stratification pipeline (embedded default: local files + DuckDB)')
    .version(version())
    .showHelpAfterError('(add --help for usage)');
}

/** The command named by the arguments (`locality <name> ...` or `locality help <name>`), if it is one of ours. */
export function commandNamed(args: readonly string[]): CommandEntry | undefined {
  const name = args[0] === 'help' ? args[1] : args[0];
  return COMMANDS.find((c) => c.name === name);
}

/**
 * The program for these arguments (`process.argv` without node and the script): the named command's module loaded and
 * registered, every other command as a one-line entry for the help. With no arguments given, every module is loaded.
 */
export async function buildProgram(args?: readonly string[]): Promise<Command> {
  const program = newProgram();
  const wanted = args === undefined ? undefined : commandNamed(args);
  for (const entry of COMMANDS) {
    if (args === undefined || entry === wanted) (await entry.load()).register(program);
    else program.command(entry.name).description(entry.summary);
  }
  return program;
}

export async function main(argv: readonly string[] = process.argv): Promise<void> {
  const program = await buildProgram(argv.slice(2));
  try {
    await program.parseAsync(argv as string[]);
  } catch (err) {
    // A clear, single-line error for users; the stack only when asked for.
    process.stderr.write(`error: ${(err as Error).message}\n`);
    if (process.env.DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
