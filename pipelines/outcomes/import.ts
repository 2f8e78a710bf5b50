/**
 * `locality outcomes import <file> --out <dir>`: a lead's contact outcomes (CSV, or the target-list XLSX's
 * "Outcomes" sheet) validated against every family id of every run under --out, then kept in the secure zone
 * (store.ts), with a value-free index in the outputs zone's run state. The next run reads them: its lists mark worked-with families and keep declined / not-appropriate
 * ones off the ranked list for a while (lists.ts).
 */
import { createHash } from 'node:crypto';
import type { ObjectStore } from '../io/object-store.ts';
import { iterateParquet } from '../io/parquet.ts';
import { readOutcomesCsv, readOutcomesXlsx } from './read.ts';
import { validateOutcomeRows } from './rows.ts';
import { saveOutcomeImport } from './store.ts';

/** Every family id in every run's curated families table. */
export async function knownFamilyIds(curated: ObjectStore): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const o of await curated.list('families/')) {
    if (!o.key.endsWith('.parquet')) continue;
    for await (const batch of iterateParquet(curated, o.key, 'SELECT family_id FROM {{file}}'))
      for (const r of batch) ids.add(String(r.family_id));
  }
  return ids;
}

export interface OutcomeImportResult {
  rows: number;
  blank: number;
  key: string;
  added: boolean;
}

export async function importOutcomes(
  file: { name: string; bytes: Buffer },
  stores: { secure: ObjectStore; curated: ObjectStore; outputs: ObjectStore },
): Promise<OutcomeImportResult> {
  const isXlsx = file.bytes.subarray(0, 2).toString('latin1') === 'PK';
  const raw = isXlsx
    ? readOutcomesXlsx(file.bytes, file.name)
    : readOutcomesCsv(file.bytes.toString('utf8'), file.name);
  const known = await knownFamilyIds(stores.curated);
  const { rows, blank } = validateOutcomeRows(raw, file.name, (id) => known.has(id));
  if (rows.length === 0)
    throw new Error(`${file.name}: no outcome filled in (${blank} rows with a family id only): nothing imported`);
  const sha = createHash('sha256').update(file.bytes).digest('hex');
  const saved = await saveOutcomeImport(stores, file.name, sha, rows);
  return { rows: rows.length, blank, ...saved };
}
