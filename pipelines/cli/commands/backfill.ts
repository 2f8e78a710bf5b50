/**
 * `locality backfill`: one run per period (month or week) between two dates, each as at the period's last day.
 * Locally: the run state machine per date (dates already done with the same inputs and config are skipped;
 * resumable after a kill). With --cloud: starts the deployed backfill state machine and follows it.
 */
import progressLib from 'cli-progress';
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { backfillPeriods, EVERY, type Every } from '../../backfill/periods.ts';
import { loadRunConfig } from '../../config.ts';
import { jsonLog } from '../../log.ts';
import { whoRan } from '../../manifest.ts';

export interface BackfillOptions {
  landing?: string;
  out?: string;
  from: string;
  to: string;
  every: string;
  force?: boolean;
  config?: string;
  cloud?: boolean;
  stateMachineArn?: string;
  region?: string;
}

function parseEvery(e: string): Every {
  if (!(EVERY as readonly string[]).includes(e)) throw new Error(`--every ${e}: must be one of ${EVERY.join(', ')}`);
  return e as Every;
}

function periodBar(total: number) {
  const tty = Boolean(process.stderr.isTTY) && !process.env.CI;
  const bar = tty
    ? new progressLib.SingleBar(
        {
          stream: process.stderr,
          format: ' backfill |{bar}| {value}/{total} as-at dates  ETA {eta_formatted}  {current}',
          hideCursor: true,
          etaBuffer: 10,
        },
        progressLib.Presets.shades_classic,
      )
    : undefined;
  bar?.start(total, 0, { current: '' });
  const started = Date.now();
  return {
    at(done: number, current: string) {
      bar?.update(done, { current });
    },
    line(s: string) {
      if (bar) bar.update({ current: s });
      else process.stderr.write(`${s}\n`);
    },
    eta(done: number): string {
      if (done === 0) return '?';
      const per = (Date.now() - started) / done;
      return `${Math.round((per * (total - done)) / 1000)}s`;
    },
    stop() {
      bar?.stop();
    },
  };
}

export async function backfillCommand(o: BackfillOptions): Promise<void> {
  const every = parseEvery(o.every);
  const periods = backfillPeriods(o.from, o.to, every);
  if (periods.length === 0) throw new Error(`no ${every} ends between ${o.from} and ${o.to}: nothing to backfill`);
  // the config first, strictly: a bad one fails before any period runs (local or deployed)
  const config = await loadRunConfig(o.config);

  if (o.cloud) {
    if (!o.stateMachineArn)
      throw new Error('--cloud needs --state-machine-arn <arn> (the stack output BackfillStateMachineArn)');
    const bar = periodBar(periods.length);
    try {
      const [{ SFNClient }, { backfillCloud }] = await Promise.all([
        import('@aws-sdk/client-sfn'),
        import('../../backfill/cloud.ts'),
      ]);
      const r = await backfillCloud({
        client: new SFNClient(o.region ? { region: o.region } : {}),
        stateMachineArn: o.stateMachineArn,
        request: {
          from: o.from,
          to: o.to,
          every,
          force: o.force ?? false,
          ranBy: whoRan(),
          ...(o.config ? { config } : {}),
        },
        onProgress: (p) => {
          bar.at(p.succeeded, `${p.status.toLowerCase()}: ${p.running} running, ${p.failed} failed`);
        },
      });
      bar.stop();
      process.stdout.write(
        `backfill ${r.executionArn}: ${r.status} (${periods.length} as-at dates ${periods[0]} .. ${periods.at(-1)})\n`,
      );
    } finally {
      bar.stop();
    }
    return;
  }

  if (!o.landing || !o.out) throw new Error('a local backfill needs --landing <dir> and --out <dir> (or --cloud)');
  const landing = resolve(o.landing);
  if (!existsSync(landing)) throw new Error(`--landing ${o.landing}: no such directory`);
  const bar = periodBar(periods.length);
  let skipped = 0;
  const { backfillLocal } = await import('../../backfill/local.ts'); // the local runner: aws-cdk-lib, the executor, DuckDB
  const summary = await backfillLocal({
    landing,
    out: resolve(o.out),
    from: o.from,
    to: o.to,
    every,
    force: o.force ?? false,
    config,
    log: jsonLog(),
    onPeriod: ({ index, total, asAt, result }) => {
      if (!result) {
        bar.at(index, `running ${asAt}`);
        return;
      }
      if (result.status === 'skipped') skipped++;
      bar.at(index + 1, `${asAt} ${result.status}`);
      bar.line(
        `[${index + 1}/${total}] ${asAt} ${result.status === 'skipped' ? 'already done, skipped' : result.status} (run ${result.runId}) ETA ${bar.eta(index + 1)}`,
      );
    },
  });
  bar.stop();
  const ran = summary.done.filter((d) => d.status === 'ok').length;
  process.stdout.write(
    `backfill ${o.from} .. ${o.to} every ${every}: ${summary.periods.length} as-at dates, ${ran} run, ${skipped} already done\n`,
  );
  for (const d of summary.done) process.stdout.write(`  ${d.asAt}  ${d.status.padEnd(8)} ${d.runId}\n`);
  if (summary.failed) {
    process.stdout.write(
      `FAILED at ${summary.failed.asAt} in ${summary.failed.stage}: ${summary.failed.error}: ${summary.failed.cause}\nRun the same command again to resume from there.\n`,
    );
    process.exitCode = 1;
  }
  process.stdout.write(`outputs: ${resolve(o.out, 'outputs')}/as_at=<date>/\n`);
}

export function register(program: Command): void {
  program
    .command('backfill')
    .description(
      'run the pipeline for every month or week between two dates (idempotent, resumable; --cloud runs it on AWS)',
    )
    .requiredOption('--from <date>', 'first date YYYY-MM-DD')
    .requiredOption('--to <date>', 'last date YYYY-MM-DD (inclusive)')
    .requiredOption('--every <period>', 'month (as at each month end) | week (every 7th day from --from + 6)')
    .option('--landing <dir>', 'landing directory (local)')
    .option('--out <dir>', 'output root (local)')
    .option('--config <file>', 'run config JSON (checked strictly first; sent with --cloud)')
    .option('--force', 'redo dates already done with the same inputs and config')
    .option('--cloud', 'start the deployed backfill state machine instead, and follow it to the end')
    .option('--state-machine-arn <arn>', 'with --cloud: the backfill state machine ARN')
    .option('--region <region>', 'with --cloud: AWS region (default: from the environment)')
    .action(async (o: BackfillOptions) => {
      await backfillCommand(o);
    });
}
