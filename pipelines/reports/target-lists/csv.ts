/**
 * CSV for people who open it in Excel: UTF-8 with a byte-order mark (so Excel reads it as UTF-8), CRLF line ends,
 * RFC 4180 quoting, and formula-injection neutralised: a text cell starting with = + - @ (or a tab or carriage
 * return, which Excel strips before evaluating) is prefixed with an apostrophe so Excel shows it as text.
 */
export type CellValue = string | number | null;

const DANGEROUS_START = /^[=+\-@\t\r]/;

/** Neutralises a text cell against formula injection (CSV and spreadsheet exports). Numbers are left alone. */
export function neutraliseFormula(text: string): string {
  return DANGEROUS_START.test(text) ? `'${text}` : text;
}

function cellText(v: CellValue): string {
  if (v === null) return '';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`csv: cannot write ${v}`);
    return String(v);
  }
  const safe = neutraliseFormula(v);
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function toCsv(header: readonly string[], rows: ReadonlyArray<readonly CellValue[]>): Buffer {
  const lines = [header.map((h) => cellText(h)).join(',')];
  for (const r of rows) {
    if (r.length !== header.length) throw new Error(`csv: a row has ${r.length} cells, the header ${header.length}`);
    lines.push(r.map(cellText).join(','));
  }
  return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${lines.join('\r\n')}\r\n`, 'utf8')]);
}
