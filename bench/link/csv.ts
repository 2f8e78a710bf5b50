/**
 * Streaming CSV rows for the benchmark's inputs and the tools' outputs: one record per line (no
 * embedded newlines in these files), double-quote quoting, header names and values trimmed (FEBRL
 * separates with ", ").
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

export function splitCsvLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',').map((v) => v.trim());
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"') {
        if (line[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(field.trim());
      field = '';
    } else field += ch;
  }
  out.push(field.trim());
  return out;
}

/** Yields each data row as an object keyed by the (trimmed) header; `columns` must all exist. */
export async function* readCsvRows(path: string, columns: readonly string[]): AsyncGenerator<Record<string, string>> {
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let header: string[] | null = null;
  let index: number[] = [];
  let lineNo = 0;
  for await (const line of lines) {
    lineNo += 1;
    if (header === null) {
      header = splitCsvLine(line.replace(/^\uFEFF/, ''));
      index = columns.map((c) => {
        const i = (header as string[]).indexOf(c);
        if (i < 0) throw new Error(`${path}: no column "${c}" (columns are: ${(header as string[]).join(', ')})`);
        return i;
      });
      continue;
    }
    if (line === '') continue;
    const values = splitCsvLine(line);
    const row: Record<string, string> = {};
    for (let k = 0; k < columns.length; k++) {
      const v = values[index[k] as number];
      if (v === undefined) throw new Error(`${path}: line ${lineNo}: missing field "${columns[k]}"`);
      row[columns[k] as string] = v;
    }
    yield row;
  }
  if (header === null) throw new Error(`${path}: empty file`);
}

/** The header of a CSV file (trimmed names). */
export async function readCsvHeader(path: string): Promise<string[]> {
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    lines.close();
    return splitCsvLine(line.replace(/^\uFEFF/, ''));
  }
  throw new Error(`${path}: empty file`);
}
