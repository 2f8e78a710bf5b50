/**
 * Reading a feed's validated files for standardise: its rows with the snapshot/incremental rule applied (one row
 * per key, the latest wins), ordered by that key; feeds in the order of their record ids.
 */
import { FEEDS, type FeedDefinition } from '../feeds/catalogue.ts';
import type { ObjectStore } from '../io/object-store.ts';
import { openScratchDuckDb, queryRows, sqlString as q } from '../io/parquet.ts';

export interface ValidatedFile {
  key: string;
  extractDate: string;
}

/**
 * Stream the rows of a feed's validated files, one row per `keyColumn` value (the latest: later extract date,
 * then later file, then later line wins), ordered by that key. Reports how many rows were superseded.
 */
export async function* latestRows(store: ObjectStore, files: ValidatedFile[], keyColumn: string, counter: { superseded: number; rows: number }): AsyncGenerator<{ row: Record<string, string>; extractDate: string }> {
  if (files.length === 0) return;
  const db = await openScratchDuckDb();
  try {
    const parts: string[] = [];
    for (let i = 0; i < files.length; i++) {
      const path = await store.localPath(files[i]!.key);
      parts.push(`SELECT *, ${i} AS _file_ord, ${q(files[i]!.extractDate)} AS _extract_date FROM read_parquet(${q(path)}, hive_partitioning = false)`);
    }
    await db.conn.run(`CREATE TABLE u AS ${parts.join(' UNION ALL ')}`);
    const total = (await (await db.conn.run('SELECT count(*)::BIGINT AS n FROM u')).getRowObjectsJS())[0]!.n as bigint;
    let kept = 0;
    const rows = queryRows(db, `SELECT * EXCLUDE (_rn) FROM (
        SELECT *, row_number() OVER (PARTITION BY "${keyColumn}" ORDER BY _file_ord DESC, _line DESC) AS _rn FROM u
      ) WHERE _rn = 1 ORDER BY "${keyColumn}"`, `standardise ${files[0]!.key}`);
    for await (const batch of rows) {
      for (const r of batch) {
        const row: Record<string, string> = {};
        for (const n in r) {
          const v = r[n];
          if (!n.startsWith('_')) row[n] = v === null || v === undefined ? '' : typeof v === 'string' ? v : String(v);
        }
        kept++;
        yield { row, extractDate: String(r._extract_date) };
      }
    }
    counter.rows += Number(total);
    counter.superseded += Number(total) - kept;
  } finally {
    await db.dispose();
  }
}

/** Feeds in record-id order of their prefix (`source:feed:`), so outputs stream out sorted by id. */
export function feedsInIdOrder(kind: FeedDefinition['kind'] | 'any'): FeedDefinition[] {
  return FEEDS.filter((f) => kind === 'any' || f.kind === kind).sort((a, b) => (`${a.source}:${a.feed}:` < `${b.source}:${b.feed}:` ? -1 : 1));
}
