/**
 * Reads a lead's outcomes file: a CSV (UTF-8, header row), or an XLSX whose "Outcomes" sheet has the header row
 * (the target-list XLSX, filled in and saved by Excel: shared or inline strings, numbers, date serials).
 */
import { csvRows } from '../privacy/extract.ts';
import { readZip } from '../privacy/zip.ts';
import type { RawRow } from './rows.ts';

export const OUTCOMES_SHEET = 'Outcomes';
const DATE_COLUMNS = new Set(['date', 'case_opened', 'case_closed']);

function rowsFromTable(table: Iterable<[number, string[]]>, origin: string): RawRow[] {
  let header: string[] | null = null;
  const out: RawRow[] = [];
  for (const [line, fields] of table) {
    if (!header) {
      header = fields.map((h) => h.trim().toLowerCase());
      if (!header.includes('family_id') || !header.includes('outcome'))
        throw new Error(
          `${origin}: line ${line}: the header needs columns family_id, date, outcome, lead_practitioner (found: ${fields.join(', ') || 'nothing'})`,
        );
      continue;
    }
    if (fields.every((f) => f.trim() === '')) continue;
    out.push({ line, cells: Object.fromEntries(header.map((h, i) => [h, fields[i] ?? ''])) });
  }
  if (!header) throw new Error(`${origin}: empty: no header row`);
  return out;
}

export function readOutcomesCsv(text: string, origin: string): RawRow[] {
  return rowsFromTable(csvRows(text), origin);
}

const unescapeXml = (s: string) =>
  s.replace(/&(lt|gt|quot|apos|amp|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) =>
    e === 'lt'
      ? '<'
      : e === 'gt'
        ? '>'
        : e === 'quot'
          ? '"'
          : e === 'apos'
            ? "'"
            : e === 'amp'
              ? '&'
              : String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : Number(e.slice(1))),
  );
const textOf = (xml: string) =>
  unescapeXml([...xml.matchAll(/<t(?:\s[^>]*)?>([\s\S]*?)<\/t>/g)].map((m) => m[1]!).join(''));

/** Column index of a cell reference ("C12" -> 2). */
function columnOf(ref: string): number {
  let n = 0;
  for (const ch of ref.replace(/\d+$/, '')) n = n * 26 + (ch.charCodeAt(0) - 64);
  return n - 1;
}

/** An Excel date serial (1900 date system) as YYYY-MM-DD. */
export function excelSerialDate(serial: number): string {
  return new Date(Math.round((serial - 25569) * 86400000)).toISOString().slice(0, 10);
}

function sheetPath(entries: Map<string, string>, origin: string): string {
  const wb = entries.get('xl/workbook.xml');
  const rels = entries.get('xl/_rels/workbook.xml.rels');
  if (!wb || !rels) throw new Error(`${origin}: not an XLSX workbook (no xl/workbook.xml)`);
  const sheet = [...wb.matchAll(/<sheet\b[^>]*>/g)]
    .map((m) => m[0])
    .find((s) => unescapeXml(/name="([^"]*)"/.exec(s)?.[1] ?? '') === OUTCOMES_SHEET);
  if (!sheet) throw new Error(`${origin}: no sheet named "${OUTCOMES_SHEET}"`);
  const rid = /r:id="([^"]*)"/.exec(sheet)?.[1];
  const rel = [...rels.matchAll(/<Relationship\b[^>]*>/g)]
    .map((m) => m[0])
    .find((r) => /Id="([^"]*)"/.exec(r)?.[1] === rid);
  const target = rel ? /Target="([^"]*)"/.exec(rel)?.[1] : undefined;
  if (!target) throw new Error(`${origin}: the "${OUTCOMES_SHEET}" sheet's part is missing`);
  return target.startsWith('/') ? target.slice(1) : `xl/${target}`;
}

export function readOutcomesXlsx(buf: Buffer, origin: string): RawRow[] {
  const entries = new Map(readZip(buf, origin).map((e) => [e.name, e.data.toString('utf8')]));
  const shared = [...(entries.get('xl/sharedStrings.xml') ?? '').matchAll(/<si>([\s\S]*?)<\/si>/g)].map((m) =>
    textOf(m[1]!),
  );
  const xml = entries.get(sheetPath(entries, origin));
  if (xml === undefined) throw new Error(`${origin}: the "${OUTCOMES_SHEET}" sheet's part is missing`);
  const table: Array<[number, string[]]> = [];
  let header: string[] = [];
  for (const row of xml.matchAll(/<row\b[^>]*?\br="(\d+)"[^>]*?(?:\/>|>([\s\S]*?)<\/row>)/g)) {
    const line = Number(row[1]);
    const fields: string[] = [];
    for (const c of (row[2] ?? '').matchAll(/<c\b([^>]*?)(?:\/>|>([\s\S]*?)<\/c>)/g)) {
      const attrs = c[1]!;
      const ref = /\br="([A-Z]+\d+)"/.exec(attrs)?.[1];
      const type = /\bt="([^"]*)"/.exec(attrs)?.[1] ?? 'n';
      const body = c[2] ?? '';
      const v = unescapeXml(/<v>([\s\S]*?)<\/v>/.exec(body)?.[1] ?? '');
      let text = type === 's' ? (shared[Number(v)] ?? '') : type === 'inlineStr' ? textOf(body) : v;
      const col = ref ? columnOf(ref) : fields.length;
      if (type === 'n' && text !== '' && DATE_COLUMNS.has(header[col] ?? '')) text = excelSerialDate(Number(text));
      fields[col] = text;
    }
    const filled = Array.from({ length: fields.length }, (_, i) => fields[i] ?? '');
    if (table.length === 0) header = filled.map((h) => h.trim().toLowerCase());
    table.push([line, filled]);
  }
  return rowsFromTable(table, `${origin} sheet "${OUTCOMES_SHEET}"`);
}
