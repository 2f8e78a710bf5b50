/**
 * Outcomes in the secure zone, with history: each import is a new object `outcomes/imports/<sha256 of its rows>.json`
 * (its validated rows, the file's name and SHA-256), never overwritten: importing the same rows again adds nothing.
 * A run as at D reads every import and uses the rows dated on or before D, so re-runs and backfills agree.
 *
 * Prepare reads no secure data, yet the outcomes a run reads are part of its run id (new outcomes make it a
 * different run). So each import also writes an index to the outputs zone's run state, `_runs/outcomes/<key>.json`:
 * per row only its date and the SHA-256 of the row (no family id, practitioner or outcome in the clear). The run id
 * takes the digest of the rows dated on or before its as-at date from there (outcomesDigest).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ObjectStore } from '../io/object-store.ts';
import { OUTCOMES, type OutcomeRow } from './rows.ts';
import { cmp } from '../../models/order.ts';
import { issuesText } from '../../models/zod-issues.ts';

export const OUTCOME_IMPORTS_PREFIX = 'outcomes/imports/';
/** In the outputs zone (run state, never published): one index per import. */
export const OUTCOME_INDEX_PREFIX = '_runs/outcomes/';

const indexSchema = z.object({ rows: z.array(z.tuple([z.string(), z.string()])) });

const importSchema = z.object({
  file: z.string(),
  fileSha256: z.string(),
  rows: z.array(
    z.object({
      familyId: z.string(),
      date: z.string(),
      outcome: z.enum(OUTCOMES),
      leadPractitioner: z.string(),
      caseOpened: z.string().nullable(),
      caseClosed: z.string().nullable(),
    }),
  ),
});

const rowKey = (r: OutcomeRow) =>
  JSON.stringify([r.familyId, r.date, r.outcome, r.leadPractitioner, r.caseOpened, r.caseClosed]);
const rowDigest = (r: OutcomeRow) => createHash('sha256').update(rowKey(r)).digest('hex');

export async function saveOutcomeImport(
  stores: { secure: ObjectStore; outputs: ObjectStore },
  file: string,
  fileSha256: string,
  rows: readonly OutcomeRow[],
): Promise<{ key: string; added: boolean }> {
  const sorted = [...rows].sort((a, b) => cmp(rowKey(a), rowKey(b)));
  const digest = createHash('sha256').update(sorted.map(rowKey).join('\n')).digest('hex').slice(0, 16);
  const key = `${OUTCOME_IMPORTS_PREFIX}${digest}.json`;
  const added = !(await stores.secure.exists(key));
  if (added) await stores.secure.put(key, `${JSON.stringify({ file, fileSha256, rows: sorted }, null, 2)}\n`);
  // written again on a repeated import, so an index lost after the secure write is restored
  await stores.outputs.put(
    `${OUTCOME_INDEX_PREFIX}${digest}.json`,
    `${JSON.stringify({ rows: sorted.map((r) => [r.date, rowDigest(r)]) })}\n`,
  );
  return { key, added };
}

/** Every imported outcome dated on or before asAt, once each, in (family, date, outcome) order. */
export async function readOutcomes(secure: ObjectStore, asAt: string): Promise<OutcomeRow[]> {
  const seen = new Map<string, OutcomeRow>();
  for (const o of await secure.list(OUTCOME_IMPORTS_PREFIX)) {
    if (!o.key.endsWith('.json')) continue;
    const parsed = importSchema.safeParse(JSON.parse((await secure.get(o.key)).toString('utf8')));
    if (!parsed.success) throw new Error(`outcomes: ${secure.location}/${o.key}: ${issuesText(parsed.error)}`);
    for (const r of parsed.data.rows) if (r.date <= asAt) seen.set(rowKey(r), r);
  }
  return [...seen.values()].sort(
    (a, b) => cmp(a.familyId, b.familyId) || cmp(a.date, b.date) || cmp(rowKey(a), rowKey(b)),
  );
}

/**
 * A digest of the outcomes a run as at asAt reads, from the outputs zone's index (part of its run id: new outcomes
 * make it a different run); undefined when there are none.
 */
export async function outcomesDigest(outputs: ObjectStore, asAt: string): Promise<string | undefined> {
  const rows = new Set<string>();
  for (const o of await outputs.list(OUTCOME_INDEX_PREFIX)) {
    if (!o.key.endsWith('.json')) continue;
    const parsed = indexSchema.safeParse(JSON.parse((await outputs.get(o.key)).toString('utf8')));
    if (!parsed.success) throw new Error(`outcomes index: ${outputs.location}/${o.key}: ${issuesText(parsed.error)}`);
    for (const [date, d] of parsed.data.rows) if (date <= asAt) rows.add(d);
  }
  return rows.size === 0
    ? undefined
    : createHash('sha256')
        .update([...rows].sort().join('\n'))
        .digest('hex');
}
