import { describe, expect, it } from 'vitest';
import { protectTable, roundCount, publishedRate, type TableInput } from '../../models/disclosure.ts';
import { recoverable } from './recover.ts';
import { mulberry32 } from '../../matching/random.ts';

const make = (counts: number[][], rowTotals = true, colTotals = true): TableInput => ({
  rows: counts.map((_, i) => `r${i}`),
  cols: counts[0]!.map((_, i) => `c${i}`),
  counts,
  rowTotals,
  colTotals,
});

describe('disclosure control', () => {
  it('suppresses 1-7, keeps zeros, rounds the rest to 5', () => {
    const out = protectTable(
      make(
        [
          [0, 3, 12],
          [8, 40, 27],
        ],
        false,
        false,
      ),
    );
    expect(out.cells[0]!.map((c) => c.value)).toEqual([0, null, 10]);
    expect(out.cells[0]![1]!.suppressed).toBe('primary');
    expect(out.cells[1]!.map((c) => c.value)).toEqual([10, 40, 25]);
    expect(roundCount(12, 5)).toBe(10);
    expect(roundCount(13, 5)).toBe(15);
  });

  it('a naive table (primary only) IS recoverable from its totals: the attack works', () => {
    const input = make([
      [3, 20, 30],
      [15, 25, 35],
    ]);
    const out = protectTable(input, { suppressMin: 1, suppressMax: 7, roundTo: 1, secondary: false });
    expect(recoverable(input, out)).toEqual(['0,0']);
  });

  it('with secondary suppression the same attack recovers nothing', () => {
    const input = make([
      [3, 20, 30],
      [15, 25, 35],
    ]);
    const out = protectTable(input);
    expect(out.cells.flat().filter((c) => c.suppressed === 'secondary').length).toBeGreaterThan(0);
    expect(recoverable(input, out)).toEqual([]);
  });

  it('a small total is itself suppressed and protected', () => {
    const input = make([
      [2, 3, 0],
      [30, 40, 50],
      [20, 25, 35],
    ]);
    const out = protectTable(input);
    expect(out.rowTotals![0]!.suppressed).toBe('primary');
    expect(recoverable(input, out)).toEqual([]);
  });

  it('200 random sparse tables (like locality x month): no suppressed cell is recoverable', () => {
    const rand = mulberry32(42);
    let suppressedSeen = 0;
    for (let t = 0; t < 200; t++) {
      const R = 1 + Math.floor(rand() * 5);
      const C = 1 + Math.floor(rand() * 8);
      const counts = Array.from({ length: R }, () =>
        Array.from({ length: C }, () => (rand() < 0.3 ? Math.floor(rand() * 8) : Math.floor(rand() * 40))),
      );
      const rowTotals = rand() < 0.8;
      const colTotals = rand() < 0.8;
      const input = make(counts, rowTotals, colTotals);
      const out = protectTable(input);
      suppressedSeen += out.cells.flat().filter((c) => c.suppressed).length;
      expect(recoverable(input, out), JSON.stringify(input)).toEqual([]);
      // every published value is a multiple of 5 and no primary cell leaks
      for (const c of out.cells.flat()) if (c.value !== null) expect(c.value % 5).toBe(0);
      for (let r = 0; r < R; r++)
        for (let c = 0; c < C; c++) {
          const v = counts[r]![c]!;
          if (v >= 1 && v <= 7) expect(out.cells[r]![c]!.value).toBeNull();
        }
    }
    expect(suppressedSeen).toBeGreaterThan(100);
  });

  it('is configurable: suppress 1-9, no rounding', () => {
    const out = protectTable(make([[9, 10]], false, false), {
      suppressMin: 1,
      suppressMax: 9,
      roundTo: 1,
      secondary: true,
    });
    expect(out.cells[0]!.map((c) => c.value)).toEqual([null, 10]);
  });

  it('rates come from published counts only', () => {
    expect(publishedRate({ value: 10, suppressed: null }, { value: 40, suppressed: null })).toBe(25);
    expect(publishedRate({ value: null, suppressed: 'primary' }, { value: 40, suppressed: null })).toBeNull();
  });
});
