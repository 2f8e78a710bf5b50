/**
 * A small, fast CSV parser into columns (RFC 4180 quoting; CRLF or LF). Header names and values are
 * trimmed by the caller's table builder; here the header is trimmed so "a, b" headers work.
 */
export interface CsvColumns {
  header: string[];
  columns: Record<string, string[]>;
  rows: number;
}

/**
 * Whether header fields look like column names (a word: letters, digits, underscores; not a postcode), so that an
 * error may quote them. A file that lost its header row has data there (names, dates of birth, postcodes): never quoted.
 */
export function looksLikeColumnNames(fields: readonly string[]): boolean {
  return fields.every(
    (f) => /^[A-Za-z][A-Za-z0-9_]*$/.test(f.trim()) && !/^[A-Za-z]{1,2}\d[A-Za-z\d]?\d[A-Za-z]{2}$/.test(f.trim()),
  );
}

export function parseCsvColumns(text: string, origin = 'csv'): CsvColumns {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const cols: string[][] = [];
  let header: string[] | null = null;
  let row: string[] = [];
  const n = text.length;
  const at: CsvCursor = { i: 0, line: 1 };
  const endRow = () => {
    if (header === null) {
      header = headerOf(row, origin);
      for (let k = 0; k < header.length; k++) cols.push([]);
    } else if (!(row.length === 1 && row[0] === '')) {
      if (row.length !== header.length)
        throw new Error(`${origin}: line ${at.line}: ${row.length} fields, the header has ${header.length}`);
      for (let k = 0; k < row.length; k++) cols[k]!.push(row[k]!);
    }
    row = [];
  };
  while (at.i < n) {
    row.push(readField(text, at, origin));
    const ch = text.charCodeAt(at.i);
    if (at.i >= n) break;
    if (ch === 44) {
      at.i++;
      if (at.i >= n) row.push('');
      continue;
    }
    if (ch === 13) at.i++;
    if (text.charCodeAt(at.i) === 10) at.i++;
    endRow();
    at.line++;
  }
  if (row.length > 0) endRow();
  if (header === null) throw new Error(`${origin}: empty file (no header)`);
  const h: string[] = header;
  const columns: Record<string, string[]> = {};
  h.forEach((name, k) => (columns[name] = cols[k]!));
  return { header: h, columns, rows: cols[0]?.length ?? 0 };
}

/** Where the parser is: the next character and the line it is on (for messages). */
interface CsvCursor {
  i: number;
  line: number;
}

/** The header row trimmed; two columns of one name are an error (the name quoted only when the row looks like a header). */
function headerOf(row: readonly string[], origin: string): string[] {
  const header = row.map((h) => h.trim());
  const seen = new Map<string, number>();
  for (const [k, h] of header.entries()) {
    if (seen.has(h))
      throw new Error(
        `${origin}: line 1: fields ${seen.get(h)! + 1} and ${k + 1} have the same name${looksLikeColumnNames(header) ? ` "${h}"` : ' (not shown: the first line does not look like a header; it may be data)'}`,
      );
    seen.set(h, k);
  }
  return header;
}

/** One field from `at.i`, left on the comma or line end after it (or the end of the text). */
function readField(text: string, at: CsvCursor, origin: string): string {
  const n = text.length;
  // skip leading spaces before a quoted field (", " separated files)
  let j = at.i;
  while (j < n && text.charCodeAt(j) === 32) j++;
  if (j < n && text.charCodeAt(j) === 34) return readQuoted(text, j + 1, at, origin);
  let e = at.i;
  while (e < n) {
    const c = text.charCodeAt(e);
    if (c === 44 || c === 10 || c === 13) break;
    e++;
  }
  const value = text.slice(at.i, e);
  at.i = e;
  return value;
}

/** A quoted field whose text starts at `from`: "" is a quote; line breaks inside it count towards `at.line`. */
function readQuoted(text: string, from: number, at: CsvCursor, origin: string): string {
  const n = text.length;
  let i = from;
  let val = '';
  let start = i;
  for (;;) {
    const q = text.indexOf('"', i);
    if (q < 0) throw new Error(`${origin}: line ${at.line}: unterminated quoted field`);
    if (text.charCodeAt(q + 1) === 34) {
      val += text.slice(start, q + 1);
      i = q + 2;
      start = i;
      continue;
    }
    val += text.slice(start, q);
    i = q + 1;
    break;
  }
  for (const c of val) if (c === '\n') at.line++;
  // anything after the closing quote up to the delimiter is dropped
  while (i < n && text.charCodeAt(i) !== 44 && text.charCodeAt(i) !== 10 && text.charCodeAt(i) !== 13) i++;
  at.i = i;
  return val;
}
