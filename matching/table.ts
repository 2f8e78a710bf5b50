/**
 * The columnar record table the engine works on: one integer code per record per column
 * (values interned per column after normalising), so comparisons and blocking work on integers and
 * every distinct value is normalised, featurised and compared with a cache exactly once.
 */

export interface InputDataset {
  /** The source_dataset name (the input file's name for the `link` command). */
  name: string;
  /** Raw columns by (trimmed) header name; every column has the same length. */
  columns: Record<string, ArrayLike<string | null | undefined>>;
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

export function rowCount(ds: InputDataset): number {
  const first = Object.values(ds.columns)[0];
  return first ? first.length : 0;
}

/**
 * Interns `columns` of every dataset into one table (records in dataset order, then row order).
 * Values are trimmed; blank becomes null; `normalisers` map a column to its canonical form.
 */
export function buildTable(
  datasets: InputDataset[],
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
    for (const ds of datasets) {
      const col = ds.columns[name]!;
      for (let i = 0; i < col.length; i++) {
        const raw = col[i];
        if (raw === null || raw === undefined) {
          codes[k++] = -1;
          continue;
        }
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
        codes[k++] = code;
      }
    }
    encoded.set(name, { name, codes, values });
  }
  return { n, ids, source, sources: datasets.map((d) => d.name), columns: encoded };
}
