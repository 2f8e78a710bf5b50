import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../matching/random.ts';
import { UnionFind } from '../../matching/union-find.ts';

/** The partition as sorted member lists, from a plain label relabelling (the obviously-correct reference). */
function naivePartition(n: number, joins: Array<[number, number]>): string {
  const label = Array.from({ length: n }, (_, i) => i);
  for (const [a, b] of joins) {
    const la = label[a]!;
    const lb = label[b]!;
    if (la !== lb) for (let i = 0; i < n; i++) if (label[i] === lb) label[i] = la;
  }
  return canonical(n, (i) => label[i]!);
}

function canonical(n: number, setOf: (i: number) => number): string {
  const sets = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const s = setOf(i);
    const l = sets.get(s);
    if (l) l.push(i);
    else sets.set(s, [i]);
  }
  return [...sets.values()]
    .map((m) => m.join(','))
    .sort()
    .join(' | ');
}

function randomJoins(seed: number, n: number, count: number): Array<[number, number]> {
  const rand = mulberry32(seed);
  return Array.from({ length: count }, () => [Math.floor(rand() * n), Math.floor(rand() * n)] as [number, number]);
}

describe('UnionFind', () => {
  it('gives the same partition as relabelling, with either join rule, and sizes that count the members', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const n = 300;
      const joins = randomJoins(seed, n, 220);
      const want = naivePartition(n, joins);
      for (const rule of ['union', 'unionBySize'] as const) {
        const uf = new UnionFind(n);
        for (const [a, b] of joins) uf[rule](a, b);
        expect(
          canonical(n, (i) => uf.find(i)),
          `${rule} seed ${seed}`,
        ).toBe(want);
        const counted = new Map<number, number>();
        for (let i = 0; i < n; i++) counted.set(uf.find(i), (counted.get(uf.find(i)) ?? 0) + 1);
        for (const [root, count] of counted) expect(uf.size(root)).toBe(count);
      }
    }
  });

  it('union: the root of every set is its smallest member, whatever order the joins come in', () => {
    for (const seed of [7, 8, 9]) {
      const n = 200;
      const uf = new UnionFind(n);
      for (const [a, b] of randomJoins(seed, n, 150)) uf.union(a, b);
      const smallest = new Map<number, number>();
      for (let i = n - 1; i >= 0; i--) smallest.set(uf.find(i), i);
      for (const [root, min] of smallest) expect(root).toBe(min);
    }
    const uf = new UnionFind(10);
    expect(uf.union(9, 4)).toBe(4);
    expect(uf.union(7, 9)).toBe(4);
    expect(uf.union(2, 7)).toBe(2);
    expect([uf.find(4), uf.find(7), uf.find(9)]).toEqual([2, 2, 2]);
    expect(uf.union(4, 9)).toBe(2); // already one set: nothing moves
    expect(uf.size(2)).toBe(4);
  });

  it('unionBySize: the larger set keeps its root; equal sizes keep the smaller root index', () => {
    const uf = new UnionFind(10);
    expect(uf.unionBySize(8, 3)).toBe(3); // 1 vs 1: the smaller index
    expect(uf.unionBySize(5, 8)).toBe(3); // {5} joins {3,8}: the larger set's root
    expect(uf.unionBySize(9, 1)).toBe(1);
    expect(uf.unionBySize(1, 3)).toBe(3); // {1,9} (2) into {3,5,8} (3): 3 stays although 1 is smaller
    expect(uf.size(3)).toBe(5);
    expect(uf.unionBySize(6, 7)).toBe(6);
    expect(uf.unionBySize(0, 2)).toBe(0);
    expect(uf.unionBySize(7, 2)).toBe(0); // 2 vs 2: root 0 beats root 6
    expect(uf.find(7)).toBe(0);
    expect(uf.unionBySize(3, 3)).toBe(3);
  });

  it('finds the root of a long chain without recursion, and every member of it afterwards', () => {
    const n = 1_000_000;
    const uf = new UnionFind(n);
    // each join puts the previous root under a smaller one: a chain n-1 -> n-2 -> ... -> 0, a million deep
    for (let i = n - 1; i > 0; i--) uf.union(i, i - 1);
    expect(uf.find(n - 1)).toBe(0);
    expect(uf.size(0)).toBe(n);
    for (let i = 0; i < n; i += 99_999) expect(uf.find(i)).toBe(0);
  });
});
