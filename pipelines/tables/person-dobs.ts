/**
 * Secure `as_at=D/families/person-dobs.parquet`: each person's date of birth (the mode of their records'), for the
 * rules' age-at-event tests and the Start Well cohort. Dates of birth never leave the secure zone.
 */
import { keys, PERSON_DOBS_KEY } from '../layout.ts';
import { need, openTable, rowsOf, str, type TableRead, type TableSource } from './read.ts';
import { col, type TableDef } from './table.ts';

export const PERSON_DOBS: TableDef = {
  name: 'person_dobs',
  zone: 'secure',
  what: 'person dates of birth',
  row: 'one person',
  columns: [
    col('person_id', 'VARCHAR', 'the person'),
    col('date_of_birth', 'DATE', 'the most common date of birth among their records (latest extract breaks ties)'),
  ],
};

export const personDobsKey = (asAt: string): string => keys.secure(asAt, PERSON_DOBS_KEY);

export const personDobsTable = (ctx: TableSource & { asAt: string }): TableRead =>
  openTable(ctx, 'secure', personDobsKey(ctx.asAt), PERSON_DOBS.what, undefined, { windowed: true });

export async function readPersonDobs(
  ctx: TableSource & { asAt: string },
  table = personDobsTable(ctx),
): Promise<Map<string, string | null>> {
  const m = new Map<string, string | null>();
  for await (const r of rowsOf(table)) m.set(need(r, table, 'person_id'), str(r, 'date_of_birth'));
  return m;
}
