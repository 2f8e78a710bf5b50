/**
 * Before standardise builds anything from the validated rows: every provider ref (each `*_ref` column of every feed)
 * that carries a clear identifier of the secure zone gets a keyed pseudonym (privacy/refs.ts), which the people,
 * events and relationship pipelines then read in its place (read.ts). So record ids, fact ids, curated tables and
 * every published output carry the pseudonym; the clear ref stays in the validated files and in the lookup table
 * (secure: as_at=D/ref-pseudonyms.jsonl), which is rewritten by every run (empty when no ref carries one).
 *
 * The identities searched for are those of the validated people rows (every extract read, superseded rows too) and
 * of every quarantined row, people and event feeds alike: the same people the privacy scan searches for, so a ref
 * that would fail the scan is the ref replaced here.
 */
import { FEEDS } from '../../feeds/catalogue.ts';
import { scratchOf, type ObjectStore } from '../../io/object-store.ts';
import { openScratchDuckDb, queryRows, sqlString as q } from '../../io/parquet.ts';
import {
  addPerson,
  emptyIndex,
  quarantinedPeople,
  securePersonFromRow,
  type SecurePerson,
} from '../../privacy/identifiers.ts';
import {
  addToSieve,
  emptySieve,
  loadRefKey,
  mayCarryIdentifier,
  pseudonymiseRefs,
  refLookupKey,
  sharesWithRefs,
  sieveOfRefs,
  type DeliveredRef,
} from '../../privacy/refs.ts';
import { configurationVocabulary } from '../../privacy/vocabulary.ts';
import { normaliseText } from '../../privacy/identifiers.ts';
import type { ValidatedFile } from './read.ts';

const IDENTITY = [
  'forename',
  'middle_names',
  'surname',
  'date_of_birth',
  'postcode',
  'address_line_1',
  'nhs_number_token',
  'upn_token',
];

export interface RefPseudonyms {
  /** Clear ref -> pseudonym, for the refs that carry an identifier. */
  map: Map<string, string>;
  /** Distinct refs checked. */
  checked: number;
}

export async function pseudonymiseDeliveredRefs(
  secure: ObjectStore,
  asAt: string,
  filesOf: ReadonlyMap<string, ValidatedFile[]>,
): Promise<RefPseudonyms> {
  const people: SecurePerson[] = [];
  const refs: DeliveredRef[] = [];
  const db = await openScratchDuckDb(undefined, scratchOf(secure));
  try {
    // two queries in all (every people feed's identities, every feed's refs): one round trip each, not one per feed
    const peopleSelects: string[] = [];
    const refSelects: string[] = [];
    for (const def of FEEDS) {
      const files = filesOf.get(`${def.source}/${def.feed}`) ?? [];
      if (!files.length) continue;
      // small files validated in a batch share one Parquet: each path once
      const paths = await Promise.all([...new Set(files.map((f) => f.key))].map((k) => secure.localPath(k)));
      const from = `read_parquet([${paths.map(q).join(', ')}], hive_partitioning = false, union_by_name = true)`;
      const cols = new Set(
        (await (await db.conn.run(`DESCRIBE SELECT * FROM ${from}`)).getRowObjectsJS()).map((d) =>
          String(d.column_name),
        ),
      );
      const wanted = def.kind === 'people' ? IDENTITY.filter((c) => cols.has(c)) : [];
      if (wanted.length)
        peopleSelects.push(`SELECT ${wanted.map((c) => `CAST("${c}" AS VARCHAR) AS "${c}"`).join(', ')} FROM ${from}`);
      for (const column of def.columns.filter((c) => c.endsWith('_ref') && cols.has(c))) {
        refSelects.push(
          `SELECT ${q(def.source)} AS source, ${q(def.feed)} AS feed, ${q(column)} AS "column", CAST("${column}" AS VARCHAR) AS ref FROM ${from} WHERE "${column}" IS NOT NULL AND CAST("${column}" AS VARCHAR) <> ''`,
        );
      }
    }
    if (peopleSelects.length) {
      for await (const batch of queryRows(
        db,
        `SELECT DISTINCT * FROM (${peopleSelects.join(' UNION ALL BY NAME ')})`,
        'ref check: people',
      )) {
        for (const row of batch) people.push(securePersonFromRow(row));
      }
    }
    if (refSelects.length) {
      for await (const batch of queryRows(
        db,
        `SELECT DISTINCT source, feed, "column", ref FROM (${refSelects.join(' UNION ALL ')}) ORDER BY source, feed, "column", ref`,
        'ref check: refs',
      )) {
        for (const r of batch)
          refs.push({ source: String(r.source), feed: String(r.feed), column: String(r.column), ref: String(r.ref) });
      }
    }
  } finally {
    await db.dispose();
  }
  for await (const p of quarantinedPeople(secure, asAt, (source, feed) =>
    FEEDS.some((f) => f.source === source && f.feed === feed && f.kind === 'people'),
  ))
    people.push(p);
  // a sieve first (words, dates of birth, postcodes); the full index only for the refs that pass it, if any
  const sieve = emptySieve();
  for (const p of people) addToSieve(sieve, p);
  const candidates = refs.filter((r) => mayCarryIdentifier(sieve, r.ref));
  // the full index of only the people who share a word, a date of birth or a postcode with a ref let through: the
  // same verdicts as the whole index (every kind the scan finds is made of those), at a fraction of the cost
  const ix = emptyIndex();
  if (candidates.length) {
    const near = sieveOfRefs(candidates);
    for (const p of people) if (sharesWithRefs(near, p)) addPerson(ix, p);
  }
  const vocabulary = new Set(configurationVocabulary().map(normaliseText).filter(Boolean));
  const key = await loadRefKey(secure);
  const { map, lookup } = pseudonymiseRefs(ix, key, candidates, vocabulary);
  await secure.put(refLookupKey(asAt), lookup.map((l) => JSON.stringify(l)).join('\n') + (lookup.length ? '\n' : ''));
  return { map, checked: new Set(refs.map((r) => r.ref)).size };
}
