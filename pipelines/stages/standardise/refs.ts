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
 *
 * Most of the work stays in DuckDB: the sieve (privacy/refs.ts) is made from each distinct name, address, date of
 * birth and postcode (not from every person), the plain refs it stops by their letters alone (`PIR03363998`, most
 * refs) never leave the database, and the full index holds only the people with a value a ref let through shares.
 * The refs and people that reach JavaScript go through the same functions as before (mayCarryIdentifier,
 * sharesWithRefs), so the verdicts are those of the sieve and index over everyone.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { FEEDS } from '../../feeds/catalogue.ts';
import { scratchOf, type ObjectStore } from '../../io/object-store.ts';
import { openScratchDuckDb, queryRows, sqlString as q } from '../../io/parquet.ts';
import {
  addPerson,
  emptyIndex,
  normaliseText,
  quarantinedPeople,
  securePersonFromRow,
  type IdentifierIndex,
  type SecurePerson,
} from '../../privacy/identifiers.ts';
import {
  addDateOfBirthToSieve,
  addNameToSieve,
  addPostcodeToSieve,
  addToSieve,
  dateOfBirthSharesWithRefs,
  emptySieve,
  loadRefKey,
  mayCarryIdentifier,
  nameSharesWithRefs,
  PLAIN_REF_SQL,
  plainLettersOpen,
  plainWholes,
  postcodeSharesWithRefs,
  pseudonymiseRefs,
  refLookupKey,
  sharesWithRefs,
  sieveOfRefs,
  TOKEN_LENGTH,
  type DeliveredRef,
  type RefSieve,
} from '../../privacy/refs.ts';
import { configurationVocabulary } from '../../privacy/vocabulary.ts';
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
/** The identity columns read as names or address lines (the sieve's words and whole values). */
const NAME_COLUMNS = ['forename', 'middle_names', 'surname', 'address_line_1'];

export interface RefPseudonyms {
  /** Clear ref -> pseudonym, for the refs that carry an identifier. */
  map: Map<string, string>;
  /** Distinct refs checked. */
  checked: number;
  /** Delivered refs (by place) the sieve let through to the full reading. */
  letThrough: number;
}

type Conn = DuckDBConnection;

/** The distinct non-empty identity values of the people feeds: names and address lines, dates of birth, postcodes. */
interface IdentityValues {
  names: string[];
  datesOfBirth: string[];
  postcodes: string[];
}

export async function pseudonymiseDeliveredRefs(
  secure: ObjectStore,
  asAt: string,
  filesOf: ReadonlyMap<string, ValidatedFile[]>,
  duckDbMemory = '512MB',
): Promise<RefPseudonyms> {
  const quarantined: SecurePerson[] = [];
  for await (const p of quarantinedPeople(secure, asAt, (source, feed) =>
    FEEDS.some((f) => f.source === source && f.feed === feed && f.kind === 'people'),
  ))
    quarantined.push(p);
  // every read of its tables orders its rows or makes a set; at 1,000,000 families its tables outgrow memory
  const db = await openScratchDuckDb(duckDbMemory, scratchOf(secure), { onDisk: true });
  const { candidates, checked, ix } = await checkRefs(db, secure, filesOf, quarantined).finally(() => db.dispose());
  const vocabulary = new Set(configurationVocabulary().map(normaliseText).filter(Boolean));
  const key = await loadRefKey(secure);
  const { map, lookup } = pseudonymiseRefs(ix, key, candidates, vocabulary);
  await secure.put(refLookupKey(asAt), lookup.map((l) => JSON.stringify(l)).join('\n') + (lookup.length ? '\n' : ''));
  return { map, checked, letThrough: candidates.length };
}

/** The refs the sieve lets through, how many distinct refs were checked, and the index to read those refs with. */
async function checkRefs(
  db: { dir: string; conn: Conn },
  secure: ObjectStore,
  filesOf: ReadonlyMap<string, ValidatedFile[]>,
  quarantined: readonly SecurePerson[],
): Promise<{ candidates: DeliveredRef[]; checked: number; ix: IdentifierIndex }> {
  const columns = await deliveredViews(db.conn, secure, filesOf);
  // a sieve first (words, dates of birth, postcodes); the full index only for the refs that pass it, if any
  const values: IdentityValues = {
    names: await distinctValues(db, columns, NAME_COLUMNS),
    datesOfBirth: await distinctValues(db, columns, ['date_of_birth']),
    postcodes: await distinctValues(db, columns, ['postcode']),
  };
  const sieve = emptySieve();
  for (const v of values.names) addNameToSieve(sieve, v);
  for (const v of values.postcodes) addPostcodeToSieve(sieve, v);
  for (const v of values.datesOfBirth) addDateOfBirthToSieve(sieve, v);
  for (const p of quarantined) addToSieve(sieve, p);
  const { candidates, checked } = await refsLetThrough(db, sieve);
  // the full index of only the people who share a word, a date of birth or a postcode with a ref let through: the
  // same verdicts as the whole index (every kind the scan finds is made of those), at a fraction of the cost
  const ix = emptyIndex();
  if (candidates.length) {
    const near = sieveOfRefs(candidates);
    for (const p of await peopleSharingWith(db, columns, values, near)) if (sharesWithRefs(near, p)) addPerson(ix, p);
    for (const p of quarantined) if (sharesWithRefs(near, p)) addPerson(ix, p);
  }
  return { candidates, checked, ix };
}

/**
 * Views over the validated files (every extract read, superseded rows too): `identities`, the identity columns of
 * every people feed (NULL where a feed has no such column), and the table `delivered`, each distinct ref with
 * where it was delivered. Returns the identity columns there are.
 */
async function deliveredViews(
  conn: Conn,
  secure: ObjectStore,
  filesOf: ReadonlyMap<string, ValidatedFile[]>,
): Promise<Set<string>> {
  const peopleSelects: string[] = [];
  const refSelects: string[] = [];
  for (const def of FEEDS) {
    const files = filesOf.get(`${def.source}/${def.feed}`) ?? [];
    if (!files.length) continue;
    // small files validated in a batch share one Parquet: each path once
    const paths = await Promise.all([...new Set(files.map((f) => f.key))].map((k) => secure.localPath(k)));
    const from = `read_parquet([${paths.map(q).join(', ')}], hive_partitioning = false, union_by_name = true)`;
    const cols = new Set(
      (await (await conn.run(`DESCRIBE SELECT * FROM ${from}`)).getRowObjectsJS()).map((d) => String(d.column_name)),
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
  const identity = new Set<string>();
  if (peopleSelects.length) {
    await conn.run(`CREATE VIEW identities AS ${peopleSelects.join(' UNION ALL BY NAME ')}`);
    for (const d of await (await conn.run('DESCRIBE identities')).getRowObjectsJS())
      identity.add(String(d.column_name));
  }
  // a plain ref (PLAIN_REF_SQL) and its letters, upper case: most refs are decided on these alone. One feed column at
  // a time (each select is one source, feed and column, so its DISTINCT is the whole table's): one DISTINCT over all
  // of them ran out of memory at 1,000,000 families (9M refs)
  await conn.run(
    `CREATE TABLE delivered (source VARCHAR, feed VARCHAR, "column" VARCHAR, ref VARCHAR, plain BOOLEAN, letters VARCHAR)`,
  );
  for (const select of refSelects)
    await conn.run(
      `INSERT INTO delivered SELECT source, feed, "column", ref,
          regexp_full_match(ref, ${q(PLAIN_REF_SQL)}) AND length(ref) < ${TOKEN_LENGTH} AS plain,
          upper(regexp_extract(ref, '^[A-Za-z]+')) AS letters
        FROM (SELECT DISTINCT source, feed, "column", ref FROM (${select}))`,
    );
  return identity;
}

/** The distinct non-empty values of these identity columns (those there are) of every people feed. */
async function distinctValues(
  db: { dir: string; conn: Conn },
  identity: ReadonlySet<string>,
  columns: readonly string[],
): Promise<string[]> {
  const have = columns.filter((c) => identity.has(c));
  if (!have.length) return [];
  const union = have.map((c) => `SELECT "${c}" AS v FROM identities`).join(' UNION ALL ');
  const out: string[] = [];
  for await (const batch of queryRows(
    db,
    `SELECT DISTINCT v FROM (${union}) WHERE v IS NOT NULL AND v <> ''`,
    'ref check: people',
  ))
    for (const r of batch) out.push(String(r.v));
  return out;
}

/**
 * The delivered refs mayCarryIdentifier lets through (in source, feed, column, ref order), and how many distinct
 * refs were checked. A plain ref whose letters the sieve refuses and which is no whole value is stopped in DuckDB:
 * mayCarryIdentifier would stop it at its first test.
 */
async function refsLetThrough(
  db: { dir: string; conn: Conn },
  sieve: RefSieve,
): Promise<{ candidates: DeliveredRef[]; checked: number }> {
  const { conn } = db;
  const checked = Number(
    (await (await conn.run('SELECT count(DISTINCT ref)::BIGINT AS n FROM delivered')).getRowObjectsJS())[0]!.n,
  );
  const letters = (await (await conn.run('SELECT DISTINCT letters FROM delivered WHERE plain')).getRowObjectsJS())
    .map((r) => String(r.letters))
    .filter((l) => !plainLettersOpen(sieve, l));
  await fill(conn, 'closed_letters', letters);
  await fill(conn, 'plain_wholes', plainWholes(sieve));
  const candidates: DeliveredRef[] = [];
  for await (const batch of queryRows(
    db,
    `SELECT source, feed, "column", ref FROM delivered
      WHERE NOT (plain AND letters IN (SELECT v FROM closed_letters) AND upper(ref) NOT IN (SELECT v FROM plain_wholes))
      ORDER BY source, feed, "column", ref`,
    'ref check: refs',
  )) {
    for (const r of batch) {
      const ref = { source: String(r.source), feed: String(r.feed), column: String(r.column), ref: String(r.ref) };
      if (mayCarryIdentifier(sieve, ref.ref)) candidates.push(ref);
    }
  }
  return { candidates, checked };
}

/** The people (distinct identities of the people feeds) with a name, address, date of birth or postcode value `near` shares. */
async function peopleSharingWith(
  db: { dir: string; conn: Conn },
  identity: ReadonlySet<string>,
  values: IdentityValues,
  near: RefSieve,
): Promise<SecurePerson[]> {
  if (!identity.size) return [];
  await fill(
    db.conn,
    'near_names',
    values.names.filter((v) => nameSharesWithRefs(near, v)),
  );
  await fill(
    db.conn,
    'near_dobs',
    values.datesOfBirth.filter((v) => dateOfBirthSharesWithRefs(near, v)),
  );
  await fill(
    db.conn,
    'near_postcodes',
    values.postcodes.filter((v) => postcodeSharesWithRefs(near, v)),
  );
  const where = [
    ...NAME_COLUMNS.filter((c) => identity.has(c)).map((c) => `"${c}" IN (SELECT v FROM near_names)`),
    ...(identity.has('date_of_birth') ? ['date_of_birth IN (SELECT v FROM near_dobs)'] : []),
    ...(identity.has('postcode') ? ['postcode IN (SELECT v FROM near_postcodes)'] : []),
  ];
  const people: SecurePerson[] = [];
  if (!where.length) return people;
  for await (const batch of queryRows(
    db,
    `SELECT DISTINCT * FROM identities WHERE ${where.join(' OR ')}`,
    'ref check: people',
  ))
    for (const row of batch) people.push(securePersonFromRow(row));
  return people;
}

/** A one-column table `name (v VARCHAR)` holding `values`. */
async function fill(conn: Conn, name: string, values: readonly string[]): Promise<void> {
  await conn.run(`CREATE TABLE ${name} (v VARCHAR)`);
  for (let i = 0; i < values.length; i += 500)
    await conn.run(
      `INSERT INTO ${name} VALUES ${values
        .slice(i, i + 500)
        .map((v) => `(${q(v)})`)
        .join(', ')}`,
    );
}
