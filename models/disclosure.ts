/**
 * Disclosure control for published aggregates (the Start Well board, IG): primary suppression of small counts
 * (default 1-7), rounding of the rest (default to the nearest 5), and secondary suppression so that no suppressed
 * cell can be recovered from the published row and column totals.
 *
 * Secondary suppression: a table with margins is a set of linear constraints (each published total = the sum of its
 * line). View every line (a row with a published total, a column with a published total) as a vertex and every cell as
 * an edge between its row line and its column line (a cell whose line has no published total hangs on a free vertex).
 * A suppressed cell's value is determined by the published cells exactly when its edge is a bridge of the graph of
 * suppressed edges, i.e. lies on no cycle. So: while a suppressed cell is a bridge, suppress the cheapest path that closes
 * a cycle through it (cheapest = least information lost, preferring small non-zero cells over zeros and totals).
 */
import { z } from 'zod';

export const disclosureSettingsSchema = z
  .object({
    /** Counts from suppressMin to suppressMax inclusive are suppressed (primary). */
    suppressMin: z.number().int().min(0).default(1),
    suppressMax: z.number().int().min(0).default(7),
    /** Published counts are rounded to the nearest multiple of this (1 = no rounding). */
    roundTo: z.number().int().positive().default(5),
    /** Apply secondary suppression (complementary cells) so suppressed cells cannot be recovered from totals. */
    secondary: z.boolean().default(true),
  })
  .strict()
  .refine((s) => s.suppressMin <= s.suppressMax, 'suppressMin <= suppressMax');
export type DisclosureSettings = z.infer<typeof disclosureSettingsSchema>;
export const DEFAULT_DISCLOSURE: DisclosureSettings = disclosureSettingsSchema.parse({});

export type Suppression = 'primary' | 'secondary' | null;

export interface PublishedCell {
  /** The published (rounded) count, or null when suppressed. */
  value: number | null;
  suppressed: Suppression;
}

export interface ProtectedTable {
  rows: string[];
  cols: string[];
  /** [row][col] of the body. */
  cells: PublishedCell[][];
  /** Row totals (one per row), when published. */
  rowTotals: PublishedCell[] | null;
  /** Column totals (one per column), when published. */
  colTotals: PublishedCell[] | null;
  /** Grand total, when both margins are published. */
  grandTotal: PublishedCell | null;
}

export interface TableInput {
  rows: string[];
  cols: string[];
  /** True counts, [row][col]. */
  counts: number[][];
  rowTotals: boolean;
  colTotals: boolean;
}

export function roundCount(n: number, roundTo: number): number {
  if (roundTo <= 1) return n;
  return Math.round(n / roundTo) * roundTo;
}

interface Edge {
  r: number;
  c: number;
  u: number;
  v: number;
  value: number;
  total: boolean;
}

/**
 * Protects a table. The full grid is (R [+1 totals row]) x (C [+1 totals column]); counts must be whole and >= 0.
 */
export function protectTable(input: TableInput, settings: DisclosureSettings = DEFAULT_DISCLOSURE): ProtectedTable {
  const R = input.rows.length;
  const C = input.cols.length;
  if (input.counts.length !== R || input.counts.some((row) => row.length !== C))
    throw new Error(`disclosure: counts must be ${R} x ${C}`);
  for (const row of input.counts)
    for (const v of row)
      if (!Number.isInteger(v) || v < 0) throw new Error(`disclosure: counts are whole numbers >= 0 (got ${v})`);
  const nR = R + (input.colTotals ? 1 : 0);
  const nC = C + (input.rowTotals ? 1 : 0);
  // full grid of true values
  const full: number[][] = [];
  for (let r = 0; r < nR; r++) {
    full.push([]);
    for (let c = 0; c < nC; c++) {
      let v: number;
      if (r < R && c < C) v = input.counts[r]![c]!;
      else if (r < R) v = input.counts[r]!.reduce((a, b) => a + b, 0);
      else if (c < C) v = input.counts.reduce((a, row) => a + row[c]!, 0);
      else v = input.counts.reduce((a, row) => a + row.reduce((x, y) => x + y, 0), 0);
      full[r]!.push(v);
    }
  }
  // vertices: row lines 0..nR-1 (only when row totals are published), column lines nR..nR+nC-1 (only with column totals), free vertex F
  const F = nR + nC;
  const edges: Edge[] = [];
  const edgeAt: number[][] = [];
  for (let r = 0; r < nR; r++) {
    edgeAt.push([]);
    for (let c = 0; c < nC; c++) {
      edgeAt[r]!.push(edges.length);
      edges.push({
        r,
        c,
        u: input.rowTotals ? r : F,
        v: input.colTotals ? nR + c : F,
        value: full[r]![c]!,
        total: r >= R || c >= C,
      });
    }
  }
  const state: Suppression[] = edges.map((e) =>
    e.value >= settings.suppressMin && e.value <= settings.suppressMax && !(e.value === 0 && settings.suppressMin > 0)
      ? 'primary'
      : null,
  );

  if (settings.secondary && (input.rowTotals || input.colTotals)) {
    for (let guard = 0; guard < edges.length + 1; guard++) {
      const bridge = firstBridge(edges, state, F + 1);
      if (bridge === -1) break;
      const path = cheapestPath(edges, state, bridge, F + 1);
      if (path === null) {
        // nothing can hide it (e.g. a 1 x 1 table): suppress the line totals too
        const e = edges[bridge]!;
        for (let i = 0; i < edges.length; i++)
          if (state[i] === null && (edges[i]!.r === e.r || edges[i]!.c === e.c)) state[i] = 'secondary';
        continue;
      }
      for (const i of path) if (state[i] === null) state[i] = 'secondary';
    }
  }

  const pub = (i: number): PublishedCell => {
    const s = state[i] ?? null;
    return s
      ? { value: null, suppressed: s }
      : { value: roundCount(edges[i]!.value, settings.roundTo), suppressed: null };
  };
  const cells: PublishedCell[][] = [];
  for (let r = 0; r < R; r++) cells.push(Array.from({ length: C }, (_, c) => pub(edgeAt[r]![c]!)));
  return {
    rows: [...input.rows],
    cols: [...input.cols],
    cells,
    rowTotals: input.rowTotals ? Array.from({ length: R }, (_, r) => pub(edgeAt[r]![C]!)) : null,
    colTotals: input.colTotals ? Array.from({ length: C }, (_, c) => pub(edgeAt[R]![c]!)) : null,
    grandTotal: input.rowTotals && input.colTotals ? pub(edgeAt[R]![C]!) : null,
  };
}

/** The lowest-index suppressed edge that lies on no cycle of suppressed edges, or -1. */
function firstBridge(edges: Edge[], state: Suppression[], nV: number): number {
  const adj: Array<Array<[number, number]>> = Array.from({ length: nV }, () => []);
  edges.forEach((e, i) => {
    if (!state[i]) return;
    adj[e.u]!.push([e.v, i]);
    adj[e.v]!.push([e.u, i]);
  });
  const disc = new Array<number>(nV).fill(-1);
  const low = new Array<number>(nV).fill(0);
  const bridges: number[] = [];
  let t = 0;
  // iterative Tarjan with edge ids (parallel edges and self-loops on the free vertex are cycles)
  for (let s = 0; s < nV; s++) {
    if (disc[s] !== -1 || adj[s]!.length === 0) continue;
    const stack: Array<{ v: number; pe: number; i: number }> = [{ v: s, pe: -1, i: 0 }];
    disc[s] = low[s] = t++;
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const nb = adj[top.v]!;
      if (top.i < nb.length) {
        const [w, ei] = nb[top.i++]!;
        if (ei === top.pe) continue;
        if (disc[w] === -1) {
          disc[w] = low[w] = t++;
          stack.push({ v: w, pe: ei, i: 0 });
        } else low[top.v] = Math.min(low[top.v]!, disc[w]!);
      } else {
        stack.pop();
        const parent = stack[stack.length - 1];
        if (parent) {
          low[parent.v] = Math.min(low[parent.v]!, low[top.v]!);
          if (low[top.v]! > disc[parent.v]!) bridges.push(top.pe);
        }
      }
    }
  }
  return bridges.length ? Math.min(...bridges) : -1;
}

/** Cheapest set of cells (excluding the bridge) joining the bridge's endpoints: suppressed cells cost nothing. */
function cheapestPath(edges: Edge[], state: Suppression[], bridge: number, nV: number): number[] | null {
  const b = edges[bridge]!;
  const cost = (i: number) => {
    if (state[i]) return 0;
    const e = edges[i]!;
    // prefer small non-zero body cells; zeros give little protection (a zero pinned by non-negativity), totals lose the most
    return (e.value === 0 ? 1e6 : e.value) + (e.total ? 1e7 : 0) + 1e-3;
  };
  const adj: Array<Array<[number, number]>> = Array.from({ length: nV }, () => []);
  edges.forEach((e, i) => {
    if (i === bridge) return;
    adj[e.u]!.push([e.v, i]);
    adj[e.v]!.push([e.u, i]);
  });
  const dist = new Array<number>(nV).fill(Infinity);
  const via = new Array<number>(nV).fill(-1);
  const done = new Array<boolean>(nV).fill(false);
  dist[b.u] = 0;
  for (;;) {
    let v = -1;
    for (let i = 0; i < nV; i++) if (!done[i] && dist[i]! < Infinity && (v === -1 || dist[i]! < dist[v]!)) v = i;
    if (v === -1) break;
    done[v] = true;
    if (v === b.v) break;
    for (const [w, ei] of adj[v]!) {
      const d = dist[v]! + cost(ei);
      if (d < dist[w]!) {
        dist[w] = d;
        via[w] = ei;
      }
    }
  }
  if (b.u === b.v) return []; // a self-loop on the free vertex: a cell in no published line is never recoverable
  if (dist[b.v] === Infinity) return null;
  const path: number[] = [];
  let v = b.v;
  while (v !== b.u) {
    const ei = via[v]!;
    path.push(ei);
    const e = edges[ei]!;
    v = e.u === v ? e.v : e.u;
  }
  return path;
}

/** Rate as a percentage with one decimal, from published (rounded) numerator and denominator; null when either is suppressed or the denominator is 0. */
export function publishedRate(numerator: PublishedCell, denominator: PublishedCell): number | null {
  if (numerator.value === null || denominator.value === null || denominator.value === 0) return null;
  return Math.round((numerator.value / denominator.value) * 1000) / 10;
}
