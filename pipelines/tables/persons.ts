/** Curated `persons`: which person each linked record belongs to. Written by match; read by families, stratify and reports. */
import { keys } from '../layout.ts';
import { need, openTable, rowsOf, type RowFrom, type TableRead, type TableSource } from './read.ts';
import { col, type TableDef } from './table.ts';

export const PERSONS: TableDef = {
  name: 'persons',
  zone: 'curated',
  what: 'persons',
  row: 'one person record and the person it was linked into',
  columns: [
    col('record_id', 'VARCHAR', 'a person record'),
    col('person_id', 'VARCHAR', '`P` + 12 hex of the SHA-256 of the smallest record id of the person'),
  ],
};

export const personsTable = (ctx: TableSource & { asAt: string }): TableRead =>
  openTable(ctx, 'curated', keys.curated('persons', ctx.asAt), 'persons', undefined, { windowed: true });

/** One persons row, checked (`from`: the read it came from, for the error's file and row). */
export function personLinkOf(
  r: Parameters<typeof need>[0],
  from: RowFrom = 'persons',
): { recordId: string; personId: string } {
  return { recordId: need(r, from, 'record_id'), personId: need(r, from, 'person_id') };
}

/** record_id -> person_id. */
export async function readPersonMap(
  ctx: TableSource & { asAt: string },
  table = personsTable(ctx),
): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  for await (const r of rowsOf(table)) {
    const { recordId, personId } = personLinkOf(r, table);
    map.set(recordId, personId);
  }
  return map;
}

/** Persons numbered in order of first sight (personIds[i] is person i's id), and each record's person number. */
export interface PersonIndex {
  personOfRecord: Map<string, number>;
  personIds: string[];
  /** The records in file order when their ids are strictly ascending (each once), else null. */
  inOrder: { recordIds: string[]; persons: number[] } | null;
}

/**
 * record_id -> person from C1's curated persons table, persons numbered in order of first sight (personIds[i] is
 * person i's id): the family stage works on these numbers, not on maps keyed by person id.
 */
export async function readPersonIndex(table: TableRead): Promise<PersonIndex> {
  const personOfRecord = new Map<string, number>();
  const indexOf = new Map<string, number>();
  const personIds: string[] = [];
  const recordIds: string[] = [];
  const persons: number[] = [];
  let ascending = true;
  for await (const r of rowsOf(table)) {
    const { recordId, personId } = personLinkOf(r, table);
    let i = indexOf.get(personId);
    if (i === undefined) {
      i = personIds.length;
      indexOf.set(personId, i);
      personIds.push(personId);
    }
    personOfRecord.set(recordId, i);
    if (ascending) {
      ascending = recordIds.length === 0 || recordIds[recordIds.length - 1]! < recordId;
      recordIds.push(recordId);
      persons.push(i);
    }
  }
  // record ids strictly ascending (each once): a table in the same record order can be walked beside it
  return { personOfRecord, personIds, inOrder: ascending ? { recordIds, persons } : null };
}

/**
 * Person index of each record of a table read in file order: when the persons table lists record ids in ascending
 * order and this table follows the same order (C1 and B both write by record id), the next record is found by one
 * comparison; otherwise (or after a record the persons table does not have) by the map.
 */
export function personOfRecordIn(index: PersonIndex): (recordId: string) => number | undefined {
  const { personOfRecord, inOrder } = index;
  if (!inOrder) return (recordId) => personOfRecord.get(recordId);
  const { recordIds, persons } = inOrder;
  let at = 0;
  return (recordId) => {
    if (at < recordIds.length && recordIds[at] === recordId) return persons[at++];
    return personOfRecord.get(recordId);
  };
}
