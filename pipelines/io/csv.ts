/**
 * Streaming CSV reader (RFC 4180) for provider extracts, hand-written for speed and exact accounting:
 *  - UTF-8 only, decoded with a fatal decoder (a byte-order mark is skipped); anything else is a file error;
 *  - LF or CRLF line ends; quoted fields may hold commas, doubled quotes and line breaks;
 *  - every record carries the physical line it starts on and its raw text (for the quarantine);
 *  - records with bad quoting (a quote inside an unquoted field, text after a closing quote) are returned
 *    flagged, not thrown, so the row can be quarantined and the rest of the file read;
 *  - memory is bounded: one chunk plus one record (a record longer than `maxRecordChars` is a file error,
 *    which is what an unterminated quote looks like).
 * Records come in batches (one per input chunk) to keep async overhead off the per-row path.
 */
import { createHash, type Hash } from 'node:crypto';

export interface CsvRecord {
  fields: string[];
  /** Physical line number (1-based) the record starts on; the header is line 1. */
  line: number;
  /** The record's text as in the file, without its line terminator. */
  raw: string;
  /** Set when quoting is malformed: what is wrong. */
  malformed?: string;
  /** 0-based index of the field where the malformed quoting was found. */
  malformedField?: number;
}

/** The file cannot be read as CSV at all. */
export class CsvFileError extends Error {
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(message);
    this.name = 'CsvFileError';
  }
}

export interface CsvReadOptions {
  /** Longest record accepted, in characters (default 1 MiB). */
  maxRecordChars?: number;
  /** Called with the bytes read so far (for progress). */
  onBytes?: (bytes: number) => void;
}

export interface CsvReadStats {
  bytes: number;
  sha256: string;
  /** Lines that were entirely empty (skipped, counted). */
  blankLines: number;
}

/** Byte offset of the first invalid UTF-8 sequence in buf (slow path, only after a decode error). */
function firstInvalidUtf8(buf: Uint8Array): number {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i]!;
    const len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len === 0) return i;
    for (let k = 1; k < len; k++) {
      if (i + k >= buf.length) return i; // sequence cut by the chunk end: report its start
      if ((buf[i + k]! & 0xc0) !== 0x80) return i;
    }
    i += len;
  }
  return 0; // the bad sequence began in the previous chunk
}

function countNewlines(buf: Uint8Array, end: number): number {
  let n = 0;
  for (let i = 0; i < end; i++) if (buf[i] === 10) n++;
  return n;
}

/**
 * Parse one record starting at `pos` in `s` with full quote handling.
 * Returns null when the record is not complete in `s` (and not at EOF).
 */
function parseQuoted(
  s: string,
  pos: number,
  eof: boolean,
): {
  fields: string[];
  end: number;
  next: number;
  newlines: number;
  malformed?: string;
  malformedField?: number;
} | null {
  const fields: string[] = [];
  let i = pos;
  let field = '';
  let newlines = 0;
  let malformed: string | undefined;
  let malformedField: number | undefined;
  const n = s.length;
  for (;;) {
    // Start of a field.
    if (i < n && s.charCodeAt(i) === 34 /* " */) {
      i++;
      let closed = false;
      while (i < n) {
        const q = s.indexOf('"', i);
        if (q === -1) {
          field += s.slice(i);
          for (let k = i; k < n; k++) if (s.charCodeAt(k) === 10) newlines++;
          i = n;
          break;
        }
        const chunk = s.slice(i, q);
        for (let k = 0; k < chunk.length; k++) if (chunk.charCodeAt(k) === 10) newlines++;
        field += chunk;
        if (q + 1 < n && s.charCodeAt(q + 1) === 34) {
          field += '"';
          i = q + 2;
          continue;
        }
        if (q + 1 >= n && !eof) return null; // could be a doubled quote split across chunks
        i = q + 1;
        closed = true;
        break;
      }
      if (!closed) {
        if (!eof) return null;
        throw new CsvFileError('unterminated quoted field at end of file', undefined);
      }
      // After a closing quote: comma, line end, or end of input. Anything else is malformed; keep it literally.
      while (i < n) {
        const c = s.charCodeAt(i);
        if (c === 44 || c === 10 || (c === 13 && (i + 1 >= n || s.charCodeAt(i + 1) === 10))) break;
        if (malformed === undefined) {
          malformed = 'text after a closing quote';
          malformedField = fields.length;
        }
        field += s[i];
        i++;
      }
    } else {
      // Unquoted field: up to comma or line end; a quote here is malformed (kept literally).
      for (;;) {
        if (i >= n) break;
        const c = s.charCodeAt(i);
        if (c === 44 || c === 10) break;
        if (c === 13 && (i + 1 >= n || s.charCodeAt(i + 1) === 10)) break;
        if (c === 34 && malformed === undefined) {
          malformed = 'a quote inside an unquoted field';
          malformedField = fields.length;
        }
        field += s[i];
        i++;
      }
    }
    fields.push(field);
    field = '';
    if (i >= n) {
      if (!eof) return null;
      return { fields, end: n, next: n, newlines, malformed, malformedField };
    }
    const c = s.charCodeAt(i);
    if (c === 44) {
      i++;
      continue;
    }
    if (c === 13) {
      if (i + 1 >= n && !eof) return null;
      return { fields, end: i, next: i + 2 <= n ? i + 2 : n, newlines, malformed, malformedField };
    }
    // c === 10
    return { fields, end: i, next: i + 1, newlines, malformed, malformedField };
  }
}

/**
 * Read a CSV byte stream as batches of records (header included, as the first record of the first batch).
 * Throws CsvFileError for a file that is not UTF-8, holds NUL bytes, or has an unterminated/overlong record.
 * `stats` is filled in as reading goes (sha256 once the stream ends).
 */
export async function* readCsv(
  input: AsyncIterable<Buffer | Uint8Array | string>,
  stats: CsvReadStats,
  opts: CsvReadOptions = {},
): AsyncGenerator<CsvRecord[]> {
  const maxRecord = opts.maxRecordChars ?? 1 << 20;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const hash: Hash = createHash('sha256');
  let carry = '';
  let line = 1; // physical line number at the start of `carry`
  let linesBeforeChunk = 0;
  let first = true;
  stats.bytes = 0;
  stats.blankLines = 0;

  const parse = (s: string, eof: boolean, out: CsvRecord[]): string => {
    let pos = 0;
    let qpos = s.indexOf('"');
    const n = s.length;
    while (pos < n) {
      const nl = s.indexOf('\n', pos);
      if (qpos !== -1 && qpos < pos) qpos = s.indexOf('"', pos);
      if (nl === -1 && !eof) break;
      const lineEnd = nl === -1 ? n : nl;
      if (qpos === -1 || qpos > lineEnd) {
        // Fast path: no quote on this line.
        let end = lineEnd;
        if (end > pos && s.charCodeAt(end - 1) === 13) end--;
        if (end === pos) {
          stats.blankLines++;
        } else {
          const raw = s.slice(pos, end);
          out.push({ fields: raw.split(','), line, raw });
        }
        line++;
        pos = nl === -1 ? n : nl + 1;
        continue;
      }
      const r = parseQuoted(s, pos, eof);
      if (r === null) break;
      const raw = s.slice(pos, r.end);
      const rec: CsvRecord = { fields: r.fields, line, raw };
      if (r.malformed) {
        rec.malformed = r.malformed;
        rec.malformedField = r.malformedField;
      }
      out.push(rec);
      line += r.newlines + 1;
      pos = r.next;
    }
    const rest = s.slice(pos);
    if (rest.length > maxRecord)
      throw new CsvFileError(
        `a record longer than ${maxRecord} characters starting at line ${line} (unterminated quote?)`,
        line,
      );
    return rest;
  };

  for await (const chunk of input) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    hash.update(bytes);
    let text: string;
    try {
      text = decoder.decode(bytes, { stream: true });
    } catch {
      const at = firstInvalidUtf8(bytes);
      const lineNo = linesBeforeChunk + countNewlines(bytes, at) + 1;
      throw new CsvFileError(
        `not UTF-8: invalid byte sequence at line ${lineNo} (byte offset ${stats.bytes + at})`,
        lineNo,
      );
    }
    linesBeforeChunk += countNewlines(bytes, bytes.length);
    stats.bytes += bytes.length;
    opts.onBytes?.(stats.bytes);
    if (first && text.length > 0) {
      first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a BOM the decoder left (it normally strips it)
      // lines ending in a lone CR (classic Mac): the whole file would read as one header line
      if (endsLinesWithCrOnly(text))
        throw new CsvFileError(
          'line ends are CR only (no LF): the file would read as one line; save it as CSV with LF or CRLF line ends',
          1,
        );
    }
    if (text.includes('\0'))
      throw new CsvFileError(`not CSV: contains NUL bytes (binary file?) near line ${line}`, line);
    const out: CsvRecord[] = [];
    carry = parse(carry + text, false, out);
    if (out.length > 0) yield out;
  }
  let tail: string;
  try {
    tail = decoder.decode();
  } catch {
    throw new CsvFileError(`not UTF-8: truncated multi-byte sequence at end of file`, line);
  }
  const out: CsvRecord[] = [];
  try {
    parse(carry + tail, true, out);
  } catch (err) {
    if (err instanceof CsvFileError && err.line === undefined)
      throw new CsvFileError(`${err.message} (the quoted field starts on or after line ${line})`, line);
    throw err;
  }
  stats.sha256 = hash.digest('hex');
  if (out.length > 0) yield out;
}

/** The first line break of the text is a lone CR (not CRLF) and no LF comes before it. */
export function endsLinesWithCrOnly(text: string): boolean {
  const cr = text.indexOf('\r');
  if (cr < 0 || cr === text.length - 1) return false;
  const lf = text.indexOf('\n');
  return (lf < 0 || lf > cr) && text[cr + 1] !== '\n';
}

/** Quote a value for CSV output when needed (comma, quote, CR or LF), doubling quotes. */
export function csvCell(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}
