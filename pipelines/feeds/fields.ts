/**
 * Field builders for feed row schemas. Every CSV cell is a string (blank = ''); each builder returns a zod
 * string schema whose failures carry a reason code ("<code>: <explanation>") the validate stage counts by,
 * and JSON Schema metadata (pattern, enum, description, x-* ranges) for the generated provider docs.
 * Failure messages never repeat the cell's value (they end up in counts and logs).
 */
import { z } from 'zod';
import { isIsoDate } from '../../matching/standardise/dates.ts';

/** Why a row is quarantined. Counts are kept per reason. */
export const QUARANTINE_REASONS = [
  'required', //            a required cell is blank
  'bad_format', //          wrong shape (reference, postcode, code, term)
  'invalid_date', //        not a real calendar date YYYY-MM-DD
  'date_after_extract', //  a date that cannot be later than the extract date is
  'date_out_of_range', //   before 1900, or an end before its start
  'bad_token', //           identifier token not 64 lowercase hex characters
  'bad_enum', //            not one of the allowed values
  'not_a_number', //        not an integer / decimal where one is expected
  'out_of_range', //        a number outside its plausible range
  'inconsistent', //        fields that contradict each other
  'field_count', //         the line has more or fewer fields than the header
  'bad_quoting', //         a quote inside an unquoted field, or text after a closing quote
  'duplicate', //           an exact duplicate of an earlier row in the same file
] as const;
export type QuarantineReason = (typeof QUARANTINE_REASONS)[number];

export const TOKEN_PATTERN = /^[0-9a-f]{64}$/;
export const REF_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$/;
const DATE_SHAPE = /^\d{4}-\d{2}-\d{2}$/;

export interface FieldMeta {
  /** Blank not allowed. */
  required: boolean;
  /** Dates only: may not be later than the extract's dt= date. */
  notAfterExtract?: boolean;
  kind: 'ref' | 'token' | 'name' | 'text' | 'date' | 'enum' | 'integer' | 'decimal' | 'postcode' | 'code';
  /** enum: the allowed non-blank values. */
  values?: readonly string[];
  /** integer/decimal: inclusive range. */
  min?: number;
  max?: number;
}

export interface Field {
  schema: z.ZodType<string>;
  meta: FieldMeta;
  description: string;
}

function msg(code: QuarantineReason, text: string): string {
  return `${code}: ${text}`;
}

function blankable(required: boolean, pattern: RegExp): RegExp {
  return required ? pattern : new RegExp(`^(?:${pattern.source.replace(/^\^|\$$/g, '')})?$`);
}

/**
 * One zod string schema per cell with ONE check: `problem` returns the issue message ("<code>: <text>") or null.
 * (One check instead of a chain halves zod's per-cell cost; the rules are the same and the docs carry the
 * pattern, enum and ranges as JSON Schema metadata.)
 */
function cell(problem: (s: string) => string | null, meta: Record<string, unknown>): z.ZodString {
  const schema = z
    .string()
    .check((ctx) => {
      const m = problem(ctx.value);
      if (m !== null) ctx.issues.push({ code: 'custom', message: m, input: ctx.value });
    })
    .meta(meta);
  PROBLEMS.set(schema, problem);
  return schema;
}

const PROBLEMS = new WeakMap<z.ZodType, (s: string) => string | null>();

/**
 * The one check of a cell schema made here, to call without zod (a string cell is valid exactly when it returns
 * null); undefined for a schema made elsewhere.
 */
export function cellProblem(schema: z.ZodType): ((s: string) => string | null) | undefined {
  return PROBLEMS.get(schema);
}

const REQUIRED = msg('required', 'must not be blank');

/** A provider reference (person_ref, record_ref, ...): 1-64 of letters, digits and _ . : / -, starting alphanumeric. */
export function ref(description: string, opts: { required?: boolean } = {}): Field {
  const required = opts.required ?? true;
  const bad = msg('bad_format', 'must be 1-64 letters, digits or _ . : / - starting with a letter or digit');
  const schema = cell((s) => (s === '' ? (required ? REQUIRED : null) : REF_PATTERN.test(s) ? null : bad), {
    pattern: blankable(required, REF_PATTERN).source,
    description,
  });
  return { schema, meta: { required, kind: 'ref' }, description };
}

/** A strong-identifier token: HMAC-SHA256 as 64 lowercase hex characters; blank when the source does not hold it. */
export function token(description: string): Field {
  const bad = msg('bad_token', 'must be 64 lowercase hex characters (HMAC-SHA256 token), never a raw identifier');
  const schema = cell((s) => (s === '' || TOKEN_PATTERN.test(s) ? null : bad), {
    pattern: '^(?:[0-9a-f]{64})?$',
    description,
  });
  return { schema, meta: { required: false, kind: 'token' }, description };
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** A free-text name or address part (clear data: secure zone only). Line breaks inside a quoted cell are kept. */
export function text(
  description: string,
  opts: { required?: boolean; max?: number; kind?: 'name' | 'text' } = {},
): Field {
  const required = opts.required ?? false;
  const max = opts.max ?? 100;
  const tooLong = msg('out_of_range', `must be at most ${max} characters`);
  const control = msg('bad_format', 'must not contain control characters (tabs and line breaks are allowed)');
  const schema = cell(
    (s) => (s === '' ? (required ? REQUIRED : null) : s.length > max ? tooLong : CONTROL.test(s) ? control : null),
    {
      maxLength: max,
      pattern: '^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$',
      description,
    },
  );
  return { schema, meta: { required, kind: opts.kind ?? 'text' }, description };
}

/** An ISO date YYYY-MM-DD that is a real calendar date, on or after 1900-01-01. */
export function date(description: string, opts: { required?: boolean; notAfterExtract?: boolean } = {}): Field {
  const required = opts.required ?? false;
  const notAfterExtract = opts.notAfterExtract ?? true;
  const invalid = msg('invalid_date', 'must be a real calendar date written YYYY-MM-DD');
  const early = msg('date_out_of_range', 'must not be before 1900-01-01');
  const schema = cell(
    (s) => (s === '' ? (required ? REQUIRED : null) : !isIsoDate(s) ? invalid : s < '1900-01-01' ? early : null),
    {
      description: `${description}${notAfterExtract ? ' Not later than the extract date.' : ''}`,
      pattern: required ? DATE_SHAPE.source : `^(?:${DATE_SHAPE.source.slice(1, -1)})?$`,
      format: required ? 'date' : undefined,
      'x-not-after-extract-date': notAfterExtract || undefined,
    },
  );
  return { schema, meta: { required, kind: 'date', notAfterExtract }, description };
}

/** One of a fixed set of values (case-sensitive, as written in the catalogue). */
export function oneOf<const V extends readonly [string, ...string[]]>(
  values: V,
  description: string,
  opts: { required?: boolean } = {},
): Field {
  const required = opts.required ?? true;
  const allowed = new Set<string>(values);
  const bad = msg('bad_enum', `must be one of ${values.join(' | ')}${required ? '' : ' or blank'}`);
  const schema = cell((s) => (s === '' ? (required ? REQUIRED : null) : allowed.has(s) ? null : bad), {
    description,
    enum: required ? [...values] : [...values, ''],
  });
  return { schema, meta: { required, kind: 'enum', values }, description };
}

const INTEGER = /^-?\d{1,9}$/;

/** A whole number in [min, max]. */
export function integer(description: string, min: number, max: number, opts: { required?: boolean } = {}): Field {
  const required = opts.required ?? false;
  const nan = msg('not_a_number', 'must be a whole number');
  const range = msg('out_of_range', `must be from ${min} to ${max}`);
  const schema = cell(
    (s) => {
      if (s === '') return required ? REQUIRED : null;
      if (!INTEGER.test(s)) return nan;
      const n = Number(s);
      return n >= min && n <= max ? null : range;
    },
    {
      description: `${description} Whole number from ${min} to ${max}.`,
      pattern: required ? '^-?\\d{1,9}$' : '^(?:-?\\d{1,9})?$',
      'x-minimum': min,
      'x-maximum': max,
    },
  );
  return { schema, meta: { required, kind: 'integer', min, max }, description };
}

/** A decimal number in [min, max] with at most `places` decimals. */
export function decimal(
  description: string,
  min: number,
  max: number,
  places: number,
  opts: { required?: boolean } = {},
): Field {
  const required = opts.required ?? false;
  const shape = new RegExp(`^\\d{1,6}(?:\\.\\d{1,${places}})?$`);
  const nan = msg('not_a_number', `must be a number with at most ${places} decimal places`);
  const range = msg('out_of_range', `must be from ${min} to ${max}`);
  const schema = cell(
    (s) => {
      if (s === '') return required ? REQUIRED : null;
      if (!shape.test(s)) return nan;
      const n = Number(s);
      return n >= min && n <= max ? null : range;
    },
    {
      description: `${description} Number from ${min} to ${max}, at most ${places} decimal places.`,
      pattern: required ? shape.source : `^(?:${shape.source.slice(1, -1)})?$`,
      'x-minimum': min,
      'x-maximum': max,
    },
  );
  return { schema, meta: { required, kind: 'decimal', min, max }, description };
}

const POSTCODE_SHAPE = /^(?:[A-Za-z0-9 ]{2,10})?$/;

/**
 * A UK postcode as typed: letters, digits and spaces, 2-10 characters. Typos are kept (standardise parses
 * what it can: a mistyped postcode is evidence for linkage, not a reason to lose the row).
 */
export function postcode(description: string): Field {
  const bad = msg('bad_format', 'must be a postcode: 2-10 letters, digits and spaces');
  const schema = cell((s) => (POSTCODE_SHAPE.test(s) ? null : bad), { pattern: POSTCODE_SHAPE.source, description });
  return { schema, meta: { required: false, kind: 'postcode' }, description };
}

/** A short code matching a pattern (school URN, GP practice, term). */
export function code(description: string, pattern: RegExp, explain: string, opts: { required?: boolean } = {}): Field {
  const required = opts.required ?? false;
  const bad = msg('bad_format', explain);
  const schema = cell((s) => (s === '' ? (required ? REQUIRED : null) : pattern.test(s) ? null : bad), {
    pattern: blankable(required, pattern).source,
    description,
  });
  return { schema, meta: { required, kind: 'code' }, description };
}

/** Split "<code>: <text>" issue messages; anything else (a zod default) is bad_format. */
export function reasonOf(message: string): { reason: QuarantineReason; detail: string } {
  const i = message.indexOf(': ');
  const code = i > 0 ? message.slice(0, i) : '';
  if ((QUARANTINE_REASONS as readonly string[]).includes(code))
    return { reason: code as QuarantineReason, detail: message.slice(i + 2) };
  return { reason: 'bad_format', detail: message };
}
