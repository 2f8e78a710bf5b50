/**
 * `locality tokenise`: what a data provider runs before sending an extract. Each named identifier
 * column (NHS number or UPN) is normalised, check-digit validated and replaced by its HMAC-SHA256
 * token under the partnership key (from --key-file or LOCALITY_TOKEN_KEY).
 *
 * Rows whose identifier is invalid are written whole to a rejects file (which therefore holds raw
 * identifiers and stays with the provider) with line, column and reason; the terminal and logs get
 * line numbers, columns and reasons only, never a value. Rows in = rows written + rows rejected.
 */
import { createReadStream, closeSync, openSync, rmSync, writeSync } from 'node:fs';
import type { Command } from 'commander';
import { CsvFileError, csvCell, readCsv, type CsvReadStats } from '../../io/csv.ts';
import {
  loadTokenKey,
  normaliseIdentifier,
  hmacToken,
  type IdentifierKind,
  type InvalidReason,
  type TokenKey,
} from '../../feeds/pseudonymise.ts';

export interface ColumnSpec {
  kind: IdentifierKind;
  source: string;
  target: string;
}

/** Parse `[nhs_number:|upn:]source=target`; the kind is inferred from the source column name when not given. */
export function parseColumnSpec(spec: string): ColumnSpec {
  const m = /^(?:(nhs_number|upn):)?([^=:]+)=([^=:]+)$/.exec(spec.trim());
  if (!m)
    throw new Error(
      `--column "${spec}": expected <source column>=<token column>, optionally prefixed nhs_number: or upn:`,
    );
  const source = m[2]!.trim(),
    target = m[3]!.trim();
  let kind = m[1] as IdentifierKind | undefined;
  if (!kind) {
    if (/nhs/i.test(source)) kind = 'nhs_number';
    else if (/upn|pupil_number/i.test(source)) kind = 'upn';
    else
      throw new Error(
        `--column "${spec}": cannot tell whether ${source} holds NHS numbers or UPNs; prefix it with nhs_number: or upn:`,
      );
  }
  return { kind, source, target };
}

export interface TokeniseCounts {
  rowsIn: number;
  rowsOut: number;
  rowsRejected: number;
  /** Per column, over well-formed rows: valid (tokenised unless the row was rejected for another column), blank (left blank), invalid by reason. */
  columns: Record<string, { valid: number; blank: number; invalid: Partial<Record<InvalidReason, number>> }>;
  /** Structural problems with a row: malformed quoting, wrong number of fields. */
  malformedRows: number;
}

export interface RejectNote {
  line: number;
  column: string;
  reason: string;
}

export interface TokeniseOptions {
  input: string;
  output: string;
  rejects: string;
  columns: ColumnSpec[];
  key: TokenKey;
  /** Called for each rejected identifier with line, column and reason (never the value). */
  onReject?: (note: RejectNote) => void;
}

class FileSink {
  private fd: number;
  private buf = '';
  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }
  line(cells: readonly string[]): void {
    this.buf += `${cells.map(csvCell).join(',')}\n`;
    if (this.buf.length > 1 << 20) {
      writeSync(this.fd, this.buf);
      this.buf = '';
    }
  }
  close(): void {
    if (this.buf) writeSync(this.fd, this.buf);
    closeSync(this.fd);
  }
}

export async function tokeniseCsv(o: TokeniseOptions): Promise<TokeniseCounts> {
  if (o.columns.length === 0) throw new Error('name at least one --column to tokenise');
  const counts: TokeniseCounts = { rowsIn: 0, rowsOut: 0, rowsRejected: 0, columns: {}, malformedRows: 0 };
  for (const c of o.columns) counts.columns[c.source] = { valid: 0, blank: 0, invalid: {} };
  const stats: CsvReadStats = { bytes: 0, sha256: '', blankLines: 0 };
  let header: string[] | null = null;
  let idx: number[] = [];
  let out: FileSink | null = null,
    rej: FileSink | null = null;
  try {
    for await (const batch of readCsv(createReadStream(o.input), stats)) {
      for (const rec of batch) {
        if (header === null) {
          header = rec.fields.map((h) => h.trim());
          idx = o.columns.map((c) => {
            const i = header!.indexOf(c.source);
            if (i < 0) throw new Error(`${o.input}: no column "${c.source}" in the header`);
            if (c.target !== c.source && header!.includes(c.target))
              throw new Error(`${o.input}: the header already has a column "${c.target}"`);
            return i;
          });
          const outHeader = header.slice();
          o.columns.forEach((c, k) => {
            outHeader[idx[k]!] = c.target;
          });
          out = new FileSink(o.output);
          rej = new FileSink(o.rejects);
          out.line(outHeader);
          rej.line(['line', 'column', 'reason', ...header]);
          continue;
        }
        counts.rowsIn++;
        const reject = (column: string, reason: string) => {
          o.onReject?.({ line: rec.line, column, reason });
          rej!.line([String(rec.line), column, reason, ...rec.fields]);
          counts.rowsRejected++;
        };
        if (rec.malformed || rec.fields.length !== header.length) {
          counts.malformedRows++;
          reject('', rec.malformed ? 'malformed_csv' : `wrong_field_count_${rec.fields.length}_of_${header.length}`);
          continue;
        }
        const cells = rec.fields.slice();
        let bad: { column: string; reason: InvalidReason } | null = null;
        for (let k = 0; k < o.columns.length; k++) {
          const c = o.columns[k]!;
          const raw = cells[idx[k]!]!;
          const tally = counts.columns[c.source]!;
          if (raw.trim() === '') {
            tally.blank++;
            cells[idx[k]!] = '';
            continue;
          }
          const n = normaliseIdentifier(c.kind, raw);
          if (!n.ok) {
            tally.invalid[n.reason] = (tally.invalid[n.reason] ?? 0) + 1;
            bad ??= { column: c.source, reason: n.reason };
            continue;
          }
          tally.valid++;
          cells[idx[k]!] = hmacToken(o.key, n.value);
        }
        if (bad) {
          reject(bad.column, bad.reason);
          continue;
        }
        out!.line(cells);
        counts.rowsOut++;
      }
    }
    if (header === null) throw new Error(`${o.input}: empty file (no header row)`);
  } catch (err) {
    // No half-written output that could pass for a complete extract.
    (out as FileSink | null)?.close();
    (rej as FileSink | null)?.close();
    out = rej = null;
    rmSync(o.output, { force: true });
    rmSync(o.rejects, { force: true });
    // The whole file cannot be read as CSV (not UTF-8, unterminated quote, ...): name the file.
    if (err instanceof CsvFileError) throw new Error(`${o.input}: ${err.message}`, { cause: err });
    throw err;
  } finally {
    (out as FileSink | null)?.close();
    (rej as FileSink | null)?.close();
  }
  if (counts.rowsIn !== counts.rowsOut + counts.rowsRejected)
    throw new Error(
      `internal: counts do not reconcile (${counts.rowsIn} in, ${counts.rowsOut} out, ${counts.rowsRejected} rejected)`,
    );
  return counts;
}

export function register(program: Command): void {
  program
    .command('tokenise')
    .description(
      'For data providers: replace NHS number / UPN columns with HMAC-SHA256 tokens (validated, normalised); invalid rows go to a rejects file',
    )
    .requiredOption('--in <csv>', 'input CSV (UTF-8, header row)')
    .requiredOption('--out <csv>', 'output CSV: the same columns, identifier columns replaced by token columns')
    .option(
      '--column <source=target>',
      'identifier column to tokenise, e.g. nhs_number=nhs_number_token or upn:pupil_id=upn_token (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--key-file <file>', 'file holding the partnership key (else the LOCALITY_TOKEN_KEY environment variable)')
    .option(
      '--rejects <csv>',
      'where rejected rows go, with line, column and reason (default: <out> with .rejects.csv)',
    )
    .action(async (o: { in: string; out: string; column: string[]; keyFile?: string; rejects?: string }) => {
      const columns = o.column.map(parseColumnSpec);
      const key = loadTokenKey(o.keyFile);
      const rejects = o.rejects ?? o.out.replace(/(\.csv)?$/i, '.rejects.csv');
      const shown = { n: 0 };
      const counts = await tokeniseCsv({
        input: o.in,
        output: o.out,
        rejects,
        columns,
        key,
        onReject: (r) => {
          if (shown.n++ < 50)
            process.stderr.write(`${o.in}: line ${r.line}${r.column ? `, column ${r.column}` : ''}: ${r.reason}\n`);
        },
      });
      if (shown.n > 50) process.stderr.write(`... and ${shown.n - 50} more: see ${rejects}\n`);
      const per = Object.entries(counts.columns).map(([c, t]) => {
        const invalid = Object.entries(t.invalid)
          .map(([r, n]) => `${r} ${n}`)
          .join(', ');
        return `  ${c}: ${t.valid} valid, ${t.blank} blank${invalid ? `, invalid: ${invalid}` : ''}`;
      });
      process.stdout.write(
        `${counts.rowsIn} rows in = ${counts.rowsOut} written to ${o.out} + ${counts.rowsRejected} rejected to ${rejects}\n${per.join('\n')}\n`,
      );
      if (counts.rowsRejected > 0) process.exitCode = 2;
    });
}
