/**
 * The columnar record table the engine works on: one integer code per record per column
 * (values interned per column after normalising), so comparisons and blocking work on integers and
 * every distinct value is normalised, featurised and compared with a cache exactly once.
 */

/**
 * A raw column already interned by its reader: per row an index into `values`, or -1 for null. A reader of
 * millions of rows (the match stage's person records) keeps one string per distinct value this way instead of
 * one per cell; the table normalises each distinct raw value once.
 */
export interface InternedColumn {
  codes: Int32Array;
  values: readonly string[];
}

export type RawColumn = ArrayLike<string | null | undefined> | InternedColumn;

export interface InputDataset {
  /** The source_dataset name (the input file's name for the `link` command). */
  name: string;
  /** Raw columns by (trimmed) header name; every column has the same length. */
  columns: Record<string, ArrayLike<string | null | undefined>>;
}

/** What the engine takes: an InputDataset whose columns may be interned by their reader (never the id column). */
export interface EngineDataset {
  name: string;
  columns: Record<string, RawColumn>;
}

function isInterned(c: RawColumn): c is InternedColumn {
  return (c as InternedColumn).codes instanceof Int32Array;
}

function columnLength(c: RawColumn): number {
  return isInterned(c) ? c.codes.length : c.length;
}

/** Interns raw values as a reader meets them (InternedColumn), growing its codes as it goes. */
export class ColumnInterner {
  private codes = new Int32Array(1024);
  private length = 0;
  private readonly values: string[] = [];
  private readonly index = new Map<string, number>();

  push(value: string | null): void {
    let code = -1;
    if (value !== null) {
      const known = this.index.get(value);
      if (known === undefined) {
        code = this.values.length;
        this.values.push(value);
        this.index.set(value, code);
      } else code = known;
    }
    if (this.length === this.codes.length) {
      const grown = new Int32Array(this.codes.length * 2);
      grown.set(this.codes);
      this.codes = grown;
    }
    this.codes[this.length++] = code;
  }

  /** The column so far (the interner's index is dropped: call once, at the end). */
  finish(): InternedColumn {
    this.index.clear();
    return { codes: this.codes.slice(0, this.length), values: this.values };
  }
}

export interface EncodedColumn {
  name: string;
  /** Per record: index into `values`, or -1 for null/blank. */
  codes: Int32Array;
  /** Distinct normalised values, in order of first appearance (deterministic). */
  values: string[];
}

export interface LinkTable {
  n: number;
  ids: string[];
  /** Per record: index into `sources`. */
  source: Uint8Array;
  sources: string[];
  columns: Map<string, EncodedColumn>;
}

export type Normaliser = (value: string) => string | null;

export function rowCount(ds: EngineDataset): number {
  const first = Object.values(ds.columns)[0];
  return first ? columnLength(first) : 0;
}

/**
 * Interns `columns` of every dataset into one table (records in dataset order, then row order).
 * Values are trimmed; blank becomes null; `normalisers` map a column to its canonical form.
 */
export function buildTable(
  datasets: EngineDataset[],
  idColumn: string,
  columns: string[],
  normalisers: Map<string, Normaliser>,
): LinkTable {
  if (datasets.length > 255) throw new Error('at most 255 input datasets');
  for (const ds of datasets) {
    for (const c of [idColumn, ...columns]) {
      if (!(c in ds.columns)) {
        throw new Error(`${ds.name}: no column "${c}" (columns are: ${Object.keys(ds.columns).join(', ')})`);
      }
    }
  }
  const n = datasets.reduce((s, ds) => s + rowCount(ds), 0);
  const ids: string[] = new Array(n);
  const source = new Uint8Array(n);
  let at = 0;
  for (let d = 0; d < datasets.length; d++) {
    const ds = datasets[d]!;
    const col = ds.columns[idColumn]!;
    if (isInterned(col)) throw new Error(`${ds.name}: the unique id column "${idColumn}" must not be interned`);
    const seen = new Set<string>();
    for (let i = 0; i < col.length; i++) {
      const id = (col[i] ?? '').trim();
      if (id === '') throw new Error(`${ds.name}: row ${i + 2}: the unique id column "${idColumn}" is blank`);
      if (seen.has(id))
        throw new Error(`${ds.name}: row ${i + 2}: unique id "${id}" in column "${idColumn}" is repeated`);
      seen.add(id);
      ids[at] = id;
      source[at++] = d;
    }
  }
  const encoded = new Map<string, EncodedColumn>();
  for (const name of new Set(columns)) {
    const norm = normalisers.get(name);
    const codes = new Int32Array(n);
    const values: string[] = [];
    const dict = new Map<string, number>();
    const rawCache = new Map<string, number>();
    let k = 0;
    const codeOf = (raw: string): number => {
      let code = norm ? rawCache.get(raw) : dict.get(raw);
      if (code === undefined) {
        const t = raw.trim();
        const v = t === '' ? null : norm ? norm(t) : t;
        if (v === null || v === '') code = -1;
        else {
          code = dict.get(v);
          if (code === undefined) {
            code = values.length;
            values.push(v);
            dict.set(v, code);
          }
        }
        if (norm) rawCache.set(raw, code);
      }
      return code;
    };
    for (const ds of datasets) {
      const col = ds.columns[name]!;
      if (isInterned(col)) {
        // each distinct raw value normalised once, in order of first appearance (as the raw path meets them)
        const of = new Int32Array(col.values.length).fill(-2);
        for (let i = 0; i < col.codes.length; i++) {
          const r = col.codes[i]!;
          if (r < 0) {
            codes[k++] = -1;
            continue;
          }
          let code = of[r]!;
          if (code === -2) code = of[r] = codeOf(col.values[r]!);
          codes[k++] = code;
        }
        continue;
      }
      for (let i = 0; i < col.length; i++) {
        const raw = col[i];
        if (raw === null || raw === undefined) {
          codes[k++] = -1;
          continue;
        }
        codes[k++] = codeOf(raw);
      }
    }
    encoded.set(name, { name, codes, values });
  }
  return { n, ids, source, sources: datasets.map((d) => d.name), columns: encoded };
}
