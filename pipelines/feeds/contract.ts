/**
 * A feed contract: the zod row schema of one (source, feed), built from field specs plus row checks
 * (fields that must agree with each other, dates not after the extract date). The validate stage parses
 * each CSV row (an object of string cells) with `rowSchema(extractDate)`; the docs generator uses
 * `rowSchema()` (no extract date) for the JSON Schema given to providers.
 */
import { z } from 'zod';
import { isIsoDate } from '../../matching/standardise/dates.ts';
import type { FeedKind, Source } from './catalogue.ts';
import { cellProblem, reasonOf, type Field, type QuarantineReason } from './fields.ts';

export type Row = Readonly<Record<string, string>>;

export interface RowCheck {
  /** The field the problem is reported against. */
  field: string;
  reason: QuarantineReason;
  /** Plain-English rule, used as the quarantine detail and in the docs. */
  rule: string;
  /** True when the row is fine. Only called once every field is individually valid. */
  ok: (row: Row) => boolean;
}

export interface FeedContract {
  source: Source;
  feed: string;
  kind: FeedKind;
  description: string;
  /** Every column, in CSV order, with its field spec. */
  fields: Readonly<Record<string, Field>>;
  /** Columns that may be absent from the header (older extracts); read as blank when absent. */
  optionalColumns: readonly string[];
  checks: readonly RowCheck[];
  /** The row schema; with an extract date, dates flagged notAfterExtract must not be later than it. */
  rowSchema(extractDate?: string): z.ZodType<Record<string, string>>;
  /** The plain object schema with its metadata, for z.toJSONSchema (row checks are listed in x-row-checks). */
  docSchema: z.ZodType;
  /**
   * `rowSchema(extractDate).safeParse(row).success`, the same answer without zod: each cell by its field's own
   * check (fields.ts cellProblem; the extract-date rule on the dates it applies to), then the row checks, as the
   * object schema runs them. For the many rows of a file (zod's object parse was a third of validate's thread).
   */
  rowValidator(extractDate?: string): (row: Row) => boolean;
}

export interface FeedContractSpec {
  source: Source;
  feed: string;
  kind: FeedKind;
  description: string;
  fields: Record<string, Field>;
  optionalColumns?: readonly string[];
  checks?: readonly RowCheck[];
}

export function defineFeed(spec: FeedContractSpec): FeedContract {
  const checks = spec.checks ?? [];
  const shape: Record<string, z.ZodType<string>> = {};
  for (const [name, f] of Object.entries(spec.fields)) shape[name] = f.schema;
  const base = z.strictObject(shape).meta({
    title: `${spec.source}/${spec.feed}`,
    description: spec.description,
    'x-kind': spec.kind,
    'x-row-checks': checks.map((c) => `${c.field}: ${c.rule} (${c.reason})`),
  });
  const cache = new Map<string, z.ZodType<Record<string, string>>>();

  // Row checks run only when every field is individually valid (`when`), so they can trust the cells.
  const onlyWhenFieldsValid = { when: (p: { issues: readonly unknown[] }) => p.issues.length === 0 };
  const withRowChecks = (o: z.ZodType<Record<string, string>>): z.ZodType<Record<string, string>> => {
    let s = o;
    for (const c of checks)
      s = s.refine((row) => c.ok(row), { message: `${c.reason}: ${c.rule}`, path: [c.field], ...onlyWhenFieldsValid });
    return s;
  };
  const withChecks = withRowChecks(base as unknown as z.ZodType<Record<string, string>>);
  // With an extract date, each date flagged notAfterExtract gets one more check on the field itself.
  const datedShape = (extractDate: string): Record<string, z.ZodType<string>> => {
    const dated: Record<string, z.ZodType<string>> = { ...shape };
    for (const [name, f] of Object.entries(spec.fields)) {
      if (f.meta.kind === 'date' && f.meta.notAfterExtract) {
        dated[name] = (f.schema as z.ZodString).refine((v) => v === '' || v <= extractDate || !isIsoDate(v), {
          message: 'date_after_extract: must not be later than the extract date',
        });
      }
    }
    return dated;
  };
  const shapes = new Map<string, Record<string, z.ZodType<string>>>();
  const shapeAt = (extractDate: string) => {
    let d = shapes.get(extractDate);
    if (!d) shapes.set(extractDate, (d = datedShape(extractDate)));
    return d;
  };
  const build = (extractDate: string): z.ZodType<Record<string, string>> =>
    withRowChecks(z.strictObject(shapeAt(extractDate)) as unknown as z.ZodType<Record<string, string>>);

  return {
    source: spec.source,
    feed: spec.feed,
    kind: spec.kind,
    description: spec.description,
    fields: spec.fields,
    optionalColumns: spec.optionalColumns ?? [],
    checks,
    docSchema: base,
    rowSchema(extractDate?: string) {
      if (!extractDate) return withChecks;
      let s = cache.get(extractDate);
      if (!s) cache.set(extractDate, (s = build(extractDate)));
      return s;
    },
    rowValidator(extractDate?: string) {
      return fieldByFieldValidator(spec.fields, extractDate || undefined, checks);
    },
  };
}

function fieldByFieldValidator(
  fields: Readonly<Record<string, Field>>,
  extractDate: string | undefined,
  checks: readonly RowCheck[],
): (row: Row) => boolean {
  const columns = Object.entries(fields).map(([name, f]) => {
    const problem = cellProblem(f.schema);
    const dated = extractDate !== undefined && f.meta.kind === 'date' && f.meta.notAfterExtract === true;
    // the date rule of rowSchema(extractDate), on the field itself
    const inTime = (v: string) => !dated || v === '' || v <= extractDate || !isIsoDate(v);
    const accepts = problem
      ? (v: string) => problem(v) === null && inTime(v)
      : (v: string) => f.schema.safeParse(v).success && inTime(v);
    return { name, accepts };
  });
  return (row) => {
    let keys = 0;
    for (const _ in row) keys++;
    if (keys !== columns.length) return false; // a strict object: no column more, none less
    for (const c of columns) {
      const v = row[c.name];
      if (typeof v !== 'string' || !c.accepts(v)) return false;
    }
    for (const check of checks) if (!check.ok(row)) return false;
    return true;
  };
}

// ---- helpers for row checks -------------------------------------------------------------------

/** b is blank or on/after a (both already valid ISO dates or blank). */
export function notBefore(row: Row, a: string, b: string): boolean {
  const va = row[a];
  const vb = row[b];
  return !va || !vb || vb >= va;
}

export interface RowProblem {
  field: string;
  reason: QuarantineReason;
  detail: string;
}

/** Parse one row (all columns present, string cells) against a contract: [] when valid, else the problems in column order. */
export function checkRow(contract: FeedContract, row: Record<string, string>, extractDate?: string): RowProblem[] {
  const r = contract.rowSchema(extractDate).safeParse(row);
  if (r.success) return [];
  return r.error.issues.map((i) => {
    const { reason, detail } = reasonOf(i.message);
    return { field: i.path.length > 0 ? String(i.path[0]) : '', reason, detail };
  });
}
