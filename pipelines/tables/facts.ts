/**
 * Curated `facts`: one row per event or episode of an event feed (models/facts.ts), keyed to its person record.
 * Written by standardise; read by families (current pregnancies), stratify (the rules) and the Start Well report.
 */
import { FACT_TYPES, type Fact, type FactType } from '../../models/facts.ts';
import type { ParquetRow } from '../io/parquet.ts';
import { keys } from '../layout.ts';
import {
  need,
  needDate,
  num,
  openTable,
  optDate,
  originOf,
  rowsOf,
  type RowFrom,
  str,
  type TableRead,
  type TableSource,
} from './read.ts';
import { col, type TableDef } from './table.ts';

export const FACTS: TableDef = {
  name: 'facts',
  zone: 'curated',
  what: 'facts',
  row: 'one event or episode from an event feed',
  columns: [
    col('fact_id', 'VARCHAR', '`<source>:<feed>:<record_ref>`'),
    col('type', 'VARCHAR', `the fact type (${FACT_TYPES.join(', ')})`),
    col('source', 'VARCHAR', 'the provider'),
    col('feed', 'VARCHAR', 'the feed of that provider'),
    col('record_ref', 'VARCHAR', "the provider's reference of the event"),
    col('record_id', 'VARCHAR', 'the person record it is about'),
    col('date', 'VARCHAR', 'when it happened or started (YYYY-MM-DD)'),
    col('end_date', 'VARCHAR', 'when an episode ended (YYYY-MM-DD), else null'),
    col('value', 'DOUBLE', 'a measure, where the type has one (e.g. attendance %)'),
    col('detail', 'VARCHAR', "JSON of the type's other fields (text values)"),
  ],
};

export function factToRow(f: Fact): ParquetRow {
  return {
    fact_id: f.factId,
    type: f.type,
    source: f.source,
    feed: f.feed,
    record_ref: f.recordRef,
    record_id: f.recordId,
    date: f.date,
    end_date: f.endDate,
    value: f.value,
    detail: JSON.stringify(f.detail),
  };
}

function detailOf(o: object): Record<string, string> {
  return Object.fromEntries(
    Object.entries(o as Record<string, unknown>).map(([k, x]) => [k, x === null ? '' : String(x)]),
  );
}

/**
 * A fact's detail as text values. `cache` (detail JSON -> parsed detail) shares one frozen object among facts with
 * the same detail text: most facts repeat a few shapes (an attendance term, an episode type), so each is parsed once.
 */
function parseDetail(v: unknown, cache?: Map<string, Readonly<Record<string, string>>>): Record<string, string> {
  if (v === null || v === undefined || v === '') return {};
  if (typeof v === 'string') {
    const known = cache?.get(v);
    if (known) return known;
    let o: unknown;
    try {
      o = JSON.parse(v);
    } catch {
      throw new Error('facts: a detail is not JSON (value not shown)');
    }
    const d = o && typeof o === 'object' && !Array.isArray(o) ? detailOf(o) : {};
    if (cache) cache.set(v, Object.freeze(d));
    return d;
  }
  if (typeof v === 'object' && !Array.isArray(v)) return detailOf(v);
  return {};
}

function factType(r: ParquetRow, from: RowFrom): FactType {
  const t = need(r, from, 'type');
  if (!(FACT_TYPES as readonly string[]).includes(t))
    throw new Error(`${originOf(r, from)}, field type: unknown fact type "${t}" (known: ${FACT_TYPES.join(', ')})`);
  return t as FactType;
}

/**
 * A fact from a curated facts row (`details`: a cache shared by the rows of one read, see parseDetail; `from`: the
 * read the row came from, for the error's file and row).
 */
export function factFromRow(
  r: ParquetRow,
  details?: Map<string, Readonly<Record<string, string>>>,
  from: RowFrom = 'facts',
): Fact {
  const source = need(r, from, 'source');
  const feed = need(r, from, 'feed');
  const recordRef = need(r, from, 'record_ref');
  return {
    factId: str(r, 'fact_id') ?? `${source}:${feed}:${recordRef}`,
    type: factType(r, from),
    source,
    feed,
    recordRef,
    recordId: need(r, from, 'record_id'),
    date: needDate(r, from, 'date'),
    endDate: optDate(r, from, 'end_date'),
    value: num(r, 'value'),
    detail: parseDetail(r.detail, details),
  };
}

/**
 * Opens the date's facts, in file order (only `onlyTypes`, when given: DuckDB filters them out before they are
 * exported, and orders what is left by row number, or the order would vary from one read to the next).
 */
export const factsTable = (ctx: TableSource & { asAt: string }, onlyTypes?: FactType[]): TableRead =>
  openTable(
    ctx,
    'curated',
    keys.curated('facts', ctx.asAt),
    'facts',
    onlyTypes
      ? `SELECT * EXCLUDE (file_row_number) FROM {{numbered_file}} WHERE "type" IN (${onlyTypes.map((t) => `'${t}'`).join(', ')}) ORDER BY file_row_number`
      : undefined,
    { windowed: true },
  );

/**
 * Facts with their person id (facts whose record is in no person are counted, not silently lost). Every row is
 * checked; `keep` may leave out facts the caller will not use (they are still checked and counted).
 */
export async function readFacts(
  ctx: TableSource & { asAt: string },
  personOf: Pick<Map<string, string>, 'get'>,
  onlyTypes?: FactType[],
  table = factsTable(ctx, onlyTypes),
  keep?: (f: Fact) => boolean,
): Promise<{ facts: Array<Fact & { personId: string }>; unmatched: number }> {
  const facts: Array<Fact & { personId: string }> = [];
  let unmatched = 0;
  const details = new Map<string, Readonly<Record<string, string>>>();
  for await (const r of rowsOf(table)) {
    const f = factFromRow(r, details, table) as Fact & { personId: string };
    const personId = personOf.get(f.recordId);
    if (!personId) {
      unmatched += 1;
      continue;
    }
    if (keep && !keep(f)) continue;
    f.personId = personId;
    facts.push(f);
  }
  return { facts, unmatched };
}
