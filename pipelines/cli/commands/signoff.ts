/**
 * `locality signoff --out <dir> --as-at D --decision approve|reject --by <name> --note <text> [--run <id>]`: information
 * governance's decision on a run held for sign-off (publish.requireSignoff). Approve releases its staged set as the
 * published folder; reject records the decision and keeps the set staged in the secure zone.
 */
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { LocalObjectStore } from '../../io/local-object-store.ts';
import { isIsoDate } from '../../layout.ts';
import { signOff } from '../../release/signoff.ts';

interface SignoffOptions {
  out: string;
  asAt: string;
  decision: string;
  by: string;
  note?: string;
  run?: string;
}

export async function signoffCommand(o: SignoffOptions): Promise<void> {
  if (!isIsoDate(o.asAt)) throw new Error(`--as-at ${o.asAt}: must be a real date YYYY-MM-DD`);
  if (o.decision !== 'approve' && o.decision !== 'reject')
    throw new Error(`--decision ${o.decision}: must be approve or reject`);
  const root = resolve(o.out);
  const stores = {
    secure: new LocalObjectStore(join(root, 'secure')),
    outputs: new LocalObjectStore(join(root, 'outputs')),
  };
  const m = await signOff(stores, {
    asAt: o.asAt,
    decision: o.decision,
    by: o.by,
    note: o.note ?? '',
    ...(o.run ? { runId: o.run } : {}),
  });
  const s = m.release?.signoff;
  process.stdout.write(
    m.release?.state === 'released'
      ? `as-at ${m.asAt}: run ${m.runId} approved by ${s?.by} and released: outputs/as_at=${m.asAt}/ now holds its complete set\n`
      : `as-at ${m.asAt}: run ${m.runId} rejected by ${s?.by}: not released (the published folder keeps its previous set; the staged set stays in the secure zone)\n`,
  );
}

export function register(program: Command): void {
  program
    .command('signoff')
    .description(
      'information governance sign-off of a run held for it (publish.requireSignoff): approve releases it, reject keeps it staged',
    )
    .requiredOption('--out <dir>', 'the run output directory (holds secure/ and outputs/)')
    .requiredOption('--as-at <date>', "the run's as-at date YYYY-MM-DD")
    .requiredOption('--decision <approve|reject>', 'approve (release the staged set) or reject')
    .requiredOption('--by <name>', 'who decides (a member of staff)')
    .option('--note <text>', 'why (published with the audit report: no names, dates of birth or addresses)', '')
    .option('--run <id>', 'the run (default: the run last prepared for the date)')
    .action(async (o: SignoffOptions) => {
      await signoffCommand(o);
    });
}
