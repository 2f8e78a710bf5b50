/**
 * Turns a published file into "text units" the scan checks: a CSV/XLSX/Parquet cell, a JSON string value,
 * an HTML text node or attribute. Each unit says where it is (row/column, JSON path, HTML line and element)
 * and whether it sits in a data position (a cell, a table data cell, a chart label) or in the page's
 * template text (headings, captions, prose): single names are only matched in data positions, while
 * full names, addresses, postcodes, tokens and dates of birth are matched everywhere.
 */
import type { ObjectStore } from '../io/object-store.ts';
import { iterateParquet } from '../io/parquet.ts';
import { readZip } from './zip.ts';

export interface TextUnit {
  /** e.g. "row 12, column forename", "$.families[3].label", "line 140 <td>". */
  location: string;
  /** Column / JSON key, when there is one (used to recognise date-of-birth fields). */
  field?: string;
  text: string;
  position: 'data' | 'template';
}

export type FileFormat = 'csv' | 'html' | 'json' | 'xlsx' | 'parquet' | 'text' | 'binary';

export function formatOf(key: string): FileFormat {
  const k = key.toLowerCase();
  if (k.endsWith('.csv')) return 'csv';
  if (k.endsWith('.html') || k.endsWith('.htm')) return 'html';
  if (k.endsWith('.json') || k.endsWith('.jsonl')) return 'json';
  if (k.endsWith('.xlsx')) return 'xlsx';
  if (k.endsWith('.parquet')) return 'parquet';
  if (k.endsWith('.txt') || k.endsWith('.md') || k.endsWith('.tsv')) return 'text';
  return 'binary';
}

// ---------------------------------------------------------------- CSV

/** RFC 4180 rows (quoted fields, doubled quotes, CRLF or LF). Yields [lineNumber, fields]. */
export function* csvRows(text: string): Generator<[number, string[]]> {
  let i = 0;
  let line = 1;
  const n = text.length;
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  while (i < n) {
    const startLine = line;
    const fields: string[] = [];
    let field = '';
    for (;;) {
      if (i < n && text[i] === '"') {
        i++;
        for (;;) {
          if (i >= n) break;
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          field += c;
          i++;
        }
      }
      while (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') field += text[i++];
      fields.push(field);
      field = '';
      if (i < n && text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '\r') i++;
      if (text[i] === '\n') {
        i++;
        line++;
      }
      break;
    }
    if (!(fields.length === 1 && fields[0] === '')) yield [startLine, fields];
  }
}

function* csvUnits(text: string): Generator<TextUnit> {
  let header: string[] | null = null;
  let row = 0;
  for (const [line, fields] of csvRows(text)) {
    if (!header) {
      header = fields;
      // Column names are the template, but a value there is still worth checking for phrases.
      for (const [c, h] of fields.entries())
        yield { location: `line ${line} (header), column ${c + 1}`, text: h, position: 'template' };
      continue;
    }
    row++;
    for (const [c, v] of fields.entries()) {
      if (v === '') continue;
      const name = header[c] ?? `#${c + 1}`;
      yield { location: `row ${row} (line ${line}), column ${name}`, field: name, text: v, position: 'data' };
    }
  }
}

// ---------------------------------------------------------------- JSON

function* jsonUnits(value: unknown, path = '$', field?: string): Generator<TextUnit> {
  if (typeof value === 'string') {
    if (value !== '') yield { location: path, field, text: value, position: 'data' };
  } else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) yield* jsonUnits(v, `${path}[${i}]`, field);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value))
      yield* jsonUnits(v, /^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`, k);
  }
}

// ---------------------------------------------------------------- HTML

const VOID = new Set([
  'area',
  'base',
  'br',
  'col',
  'embed',
  'hr',
  'img',
  'input',
  'link',
  'meta',
  'param',
  'source',
  'track',
  'wbr',
]);
const DATA_ELEMENTS = new Set(['td', 'dd', 'text', 'tspan', 'li']);
const TEXT_ATTRS = /\s(title|alt|aria-label|placeholder|value|content)\s*=\s*("([^"]*)"|'([^']*)')/gi;

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(code) ? String.fromCodePoint(code) : m;
    }
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };
    return named[e.toLowerCase()] ?? m;
  });
}

function* htmlUnits(page: string): Generator<TextUnit> {
  const stack: Array<{ name: string; data: boolean }> = [];
  let line = 1;
  let last = 0;
  const lineAt = (offset: number) => {
    for (let i = last; i < offset; i++) if (page.charCodeAt(i) === 10) line++;
    last = offset;
    return line;
  };
  const re = /<!--[\s\S]*?-->|<(\/?)([a-zA-Z][\w:-]*)([^>]*)>|([^<]+)/g;
  let skipUntil: string | null = null;
  // Text runs joined by <wbr> (a line-break opportunity, not a break: html/safe.ts puts one after each _ in codes)
  // are one text as a reader sees it: "children_<wbr>safe" is "children_safe", not a cell holding "safe".
  let pending: { raw: string; offset: number } | null = null;
  const flush = function* (): Generator<TextUnit> {
    if (!pending) return;
    const text = decodeEntities(pending.raw).replace(/\s+/g, ' ').trim();
    const at = pending.offset;
    pending = null;
    if (!text) return;
    const inData = stack.some((e) => e.data);
    const here = stack.length ? `<${stack[stack.length - 1]!.name}>` : 'text';
    yield { location: `line ${lineAt(at)} ${here}`, text, position: inData ? 'data' : 'template' };
  };
  for (const m of page.matchAll(re)) {
    const offset = m.index;
    if (m[0].startsWith('<!--')) continue;
    const closing = m[1] === '/';
    const name = (m[2] ?? '').toLowerCase();
    if (skipUntil) {
      if (closing && name === skipUntil) skipUntil = null;
      continue;
    }
    if (m[4] !== undefined) {
      if (pending) pending.raw += m[4];
      else pending = { raw: m[4], offset };
      continue;
    }
    if (name === 'wbr' && !closing && pending) continue;
    yield* flush();
    if (closing) {
      const at = stack.map((e) => e.name).lastIndexOf(name);
      if (at >= 0) stack.length = at;
      continue;
    }
    const attrs = m[3] ?? '';
    for (const a of attrs.matchAll(TEXT_ATTRS)) {
      const v = decodeEntities(a[3] ?? a[4] ?? '').trim();
      if (v)
        yield {
          location: `line ${lineAt(offset)} <${name} ${(a[1] ?? '').toLowerCase()}>`,
          text: v,
          position: 'template',
        };
    }
    if (name === 'style' || name === 'script') {
      skipUntil = name;
      continue;
    }
    if (VOID.has(name) || attrs.trimEnd().endsWith('/')) continue;
    const data = DATA_ELEMENTS.has(name) || (name === 'th' && /scope\s*=\s*["']?row/i.test(attrs));
    stack.push({ name, data });
  }
  yield* flush();
}

// ---------------------------------------------------------------- XLSX

function* xlsxUnits(buf: Buffer, origin: string): Generator<TextUnit> {
  const entries = readZip(buf, origin);
  const shared: string[] = [];
  const sst = entries.find((e) => e.name === 'xl/sharedStrings.xml');
  if (sst) {
    for (const si of sst.data.toString('utf8').matchAll(/<si>([\s\S]*?)<\/si>/g)) {
      shared.push(
        [...(si[1] ?? '').matchAll(/<t[^>]*>([\s\S]*?)<\/t>/g)].map((t) => decodeEntities(t[1] ?? '')).join(''),
      );
    }
  }
  const sheets = entries
    .filter((e) => /^xl\/worksheets\/[^/]+\.xml$/.test(e.name))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const sheet of sheets) {
    const sheetName = sheet.name.replace(/^xl\/worksheets\//, '').replace(/\.xml$/, '');
    const header = new Map<string, string>();
    for (const c of sheet.data.toString('utf8').matchAll(/<c\b([^>]*?)(?:\/>|>([\s\S]*?)<\/c>)/g)) {
      const attrs = c[1] ?? '';
      const ref = /\br="([A-Z]+)(\d+)"/.exec(attrs);
      const type = /\bt="([^"]+)"/.exec(attrs)?.[1];
      const body = c[2] ?? '';
      let text: string | null = null;
      if (type === 's') text = shared[Number(/<v>(\d+)<\/v>/.exec(body)?.[1] ?? -1)] ?? null;
      else if (type === 'inlineStr')
        text = [...body.matchAll(/<t[^>]*>([\s\S]*?)<\/t>/g)].map((t) => decodeEntities(t[1] ?? '')).join('');
      else if (type === 'str') text = decodeEntities(/<v>([\s\S]*?)<\/v>/.exec(body)?.[1] ?? '');
      if (text === null || text === '' || !ref) continue;
      const col = ref[1]!;
      const rowNo = Number(ref[2]);
      if (rowNo === 1) header.set(col, text);
      const field = rowNo === 1 ? undefined : header.get(col);
      yield {
        location: `sheet ${sheetName} cell ${col}${rowNo}${field ? ` (column ${field})` : ''}`,
        field,
        text,
        position: rowNo === 1 ? 'template' : 'data',
      };
    }
  }
}

// ---------------------------------------------------------------- any file

/** Where a Parquet cell (row from 1) or list element (index from 0) is, in findings. */
export function parquetCellLocation(row: number, column: string, index?: number): string {
  return index === undefined ? `row ${row}, column ${column}` : `row ${row}, column ${column}[${index}]`;
}

export async function* unitsOf(store: ObjectStore, key: string): AsyncGenerator<TextUnit> {
  const format = formatOf(key);
  if (format === 'parquet') {
    let row = 0;
    for await (const batch of iterateParquet(store, key)) {
      for (const r of batch) {
        row++;
        for (const [col, v] of Object.entries(r)) {
          if (typeof v === 'string' && v !== '')
            yield { location: parquetCellLocation(row, col), field: col, text: v, position: 'data' };
          else if (Array.isArray(v))
            for (const [i, s] of v.entries())
              if (s) yield { location: parquetCellLocation(row, col, i), field: col, text: s, position: 'data' };
        }
      }
    }
    return;
  }
  yield* unitsOfBuffer(key, await store.get(key));
}

/** Units of a file held in memory (any format but Parquet). */
export function* unitsOfBuffer(key: string, buf: Buffer): Generator<TextUnit> {
  const format = formatOf(key);
  if (format === 'parquet') throw new Error(`${key}: Parquet is scanned from a store, not from memory`);
  if (format === 'xlsx') {
    yield* xlsxUnits(buf, key);
    return;
  }
  const text = buf.toString('utf8');
  if (format === 'csv') yield* csvUnits(text);
  else if (format === 'html') yield* htmlUnits(text);
  else if (format === 'json') {
    if (key.toLowerCase().endsWith('.jsonl')) {
      for (const [i, l] of text.split('\n').entries()) if (l.trim()) yield* jsonUnits(JSON.parse(l), `line ${i + 1} $`);
    } else {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        throw new Error(`${key}: not valid JSON (${(err as Error).message})`, { cause: err });
      }
      yield* jsonUnits(parsed);
    }
  } else {
    // text, and unknown formats that decode as text: line by line.
    if (format === 'binary' && buf.includes(0))
      throw new Error(`${key}: binary file of unknown format, cannot be scanned`);
    for (const [i, l] of text.split('\n').entries())
      if (l.trim()) yield { location: `line ${i + 1}`, text: l, position: 'data' };
  }
}
