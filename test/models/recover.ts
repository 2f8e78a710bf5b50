/** The disclosure attacker shared by the disclosure and Start Well tests. */
import type { ProtectedTable, TableInput } from '../../models/disclosure.ts';

/** Rank of a matrix (Gaussian elimination). */
function rank(m: number[][]): number {
  const a = m.map((r) => [...r]);
  let rk = 0;
  const cols = a[0]?.length ?? 0;
  for (let c = 0; c < cols && rk < a.length; c++) {
    let p = -1;
    for (let r = rk; r < a.length; r++)
      if (Math.abs(a[r]![c]!) > 1e-9) {
        p = r;
        break;
      }
    if (p === -1) continue;
    [a[rk], a[p]] = [a[p]!, a[rk]!];
    for (let r = 0; r < a.length; r++) {
      if (r === rk) continue;
      const f = a[r]![c]! / a[rk]![c]!;
      if (f !== 0) for (let k = c; k < cols; k++) a[r]![k]! -= f * a[rk]![k]!;
    }
    rk++;
  }
  return rk;
}

/**
 * The attacker: knows every published cell EXACTLY (stronger than seeing rounded values) and every published total
 * relation. A suppressed cell is recoverable iff its unit vector lies in the row space of the constraint matrix
 * restricted to the suppressed unknowns. Returns the recoverable cells as "r,c" (r/c = -1 for totals).
 */
export function recoverable(input: TableInput, out: ProtectedTable): string[] {
  const R = input.rows.length;
  const C = input.cols.length;
  const unknowns: string[] = [];
  const sup = (r: number, c: number): boolean => {
    if (r < R && c < C) return out.cells[r]![c]!.suppressed !== null;
    if (r < R) return out.rowTotals![r]!.suppressed !== null;
    if (c < C) return out.colTotals![c]!.suppressed !== null;
    return out.grandTotal!.suppressed !== null;
  };
  const nR = R + (input.colTotals ? 1 : 0);
  const nC = C + (input.rowTotals ? 1 : 0);
  for (let r = 0; r < nR; r++) for (let c = 0; c < nC; c++) if (sup(r, c)) unknowns.push(`${r},${c}`);
  const idx = new Map(unknowns.map((u, i) => [u, i]));
  const rowsOfA: number[][] = [];
  const addLine = (cells: Array<[number, number, number]>) => {
    const v = new Array<number>(unknowns.length).fill(0);
    for (const [r, c, sign] of cells) {
      const i = idx.get(`${r},${c}`);
      if (i !== undefined) v[i] = sign;
    }
    rowsOfA.push(v);
  };
  if (input.rowTotals)
    for (let r = 0; r < nR; r++)
      addLine([...Array.from({ length: C }, (_, c) => [r, c, 1] as [number, number, number]), [r, C, -1]]);
  if (input.colTotals)
    for (let c = 0; c < nC; c++)
      addLine([...Array.from({ length: R }, (_, r) => [r, c, 1] as [number, number, number]), [R, c, -1]]);
  if (unknowns.length === 0) return [];
  const full = rank(rowsOfA);
  return unknowns.filter((_, j) => rank(rowsOfA.map((row) => row.filter((__, k) => k !== j))) < full);
}
