/**
 * The privacy scan's identifier index as lines of JSON, so a publish plan can build it once and each publish shard
 * read it back instead of building it again from the secure person records (issue #12).
 *
 * The lines hold the secure zone's clear values: write them only to the secure zone (the stage's shard folder,
 * removed by the merge), never to a log. One line per entry (no single string of the whole index: at a million
 * families it would pass V8's string limit). Read back, the index is the one written: the same maps in the same
 * order, and each phrase the same object in `phrases` and `phraseEntries`, as the builder leaves them.
 */
import { IDENTIFIER_KINDS, emptyIndex, type IdentifierIndex, type IdentifierKind } from './identifiers.ts';

type Phrase = { words: string[]; kind: IdentifierKind; recordIds: string[] };

type Line =
  | ['head', { quarantinedRows: number; records: number; counts: Record<IdentifierKind, number> }]
  | ['whole', string, { kind: IdentifierKind; recordIds: string[] }]
  | ['phrases', string, Phrase[]]
  | ['postcode', string, string[]]
  | ['token', string, { kind: IdentifierKind; recordIds: string[] }]
  | ['dob', string, string[]]
  | ['surnameDob', string, string[]]
  | ['forename', string]
  | ['surname', string];

/** The index as lines (no newline at their ends), the head first. */
export function* identifierIndexLines(ix: IdentifierIndex): Generator<string> {
  const line = (l: Line) => JSON.stringify(l);
  yield line(['head', { quarantinedRows: ix.quarantinedRows, records: ix.records, counts: ix.counts }]);
  for (const [k, v] of ix.wholeValues) yield line(['whole', k, v]);
  for (const [k, v] of ix.phrases) yield line(['phrases', k, v]);
  for (const [k, v] of ix.postcodes) yield line(['postcode', k, v]);
  for (const [k, v] of ix.tokens) yield line(['token', k, v]);
  for (const [k, v] of ix.datesOfBirth) yield line(['dob', k, v]);
  for (const [k, v] of ix.surnameDob) yield line(['surnameDob', k, v]);
  for (const w of ix.forenameWords) yield line(['forename', w]);
  for (const w of ix.surnameWords) yield line(['surname', w]);
}

/** The index from its lines; `source` names the file in errors. Refuses a file without its head or with a line it does not know. */
export async function identifierIndexFromLines(
  lines: Iterable<string> | AsyncIterable<string>,
  source: string,
): Promise<IdentifierIndex> {
  const ix = emptyIndex();
  let n = 0;
  let head = false;
  for await (const text of lines) {
    n++;
    if (text === '') continue;
    let l: Line;
    try {
      l = JSON.parse(text) as Line;
    } catch {
      throw new Error(`privacy scan: identifier index ${source} line ${n} is not JSON`);
    }
    if (!Array.isArray(l)) throw new Error(`privacy scan: identifier index ${source} line ${n} is not an entry`);
    if (!head && l[0] !== 'head') throw new Error(`privacy scan: identifier index ${source} has no head line first`);
    switch (l[0]) {
      case 'head':
        if (head) throw new Error(`privacy scan: identifier index ${source} line ${n}: a second head`);
        head = true;
        ix.quarantinedRows = l[1].quarantinedRows;
        ix.records = l[1].records;
        for (const k of IDENTIFIER_KINDS) ix.counts[k] = l[1].counts[k] ?? 0;
        break;
      case 'whole':
        ix.wholeValues.set(l[1], l[2]);
        break;
      case 'phrases':
        ix.phrases.set(l[1], l[2]);
        for (const p of l[2]) ix.phraseEntries.set(`${p.kind}|${p.words.join(' ')}`, p);
        break;
      case 'postcode':
        ix.postcodes.set(l[1], l[2]);
        break;
      case 'token':
        ix.tokens.set(l[1], l[2]);
        break;
      case 'dob':
        ix.datesOfBirth.set(l[1], l[2]);
        break;
      case 'surnameDob':
        ix.surnameDob.set(l[1], l[2]);
        break;
      case 'forename':
        ix.forenameWords.add(l[1]);
        break;
      case 'surname':
        ix.surnameWords.add(l[1]);
        break;
      default:
        throw new Error(
          `privacy scan: identifier index ${source} line ${n}: unknown entry "${String((l as unknown[])[0])}"`,
        );
    }
  }
  if (!head) throw new Error(`privacy scan: identifier index ${source} is empty (no head line)`);
  return ix;
}
