import { describe, expect, it } from 'vitest';
import { carryOverIds, type Previous } from '../../matching/lineage.ts';

const mint = (groups: string[][]) => (g: number, salt: string | null) =>
  `N:${[...groups[g]!].sort()[0]}${salt ? `@${salt}` : ''}`;

function previous(groups: Record<string, string[]>, since: Record<string, string> = {}): Previous {
  const idOf = new Map<string, string>();
  const s = new Map<string, string>();
  for (const [id, members] of Object.entries(groups)) {
    for (const m of members) idOf.set(m, id);
    s.set(id, since[id] ?? '2026-01-31');
  }
  return { idOf, since: s };
}

describe('carryOverIds', () => {
  it('a first run mints every id unsalted, all new', () => {
    const groups = [['b', 'a'], ['c']];
    const r = carryOverIds(groups, null, '2026-02-28', mint(groups));
    expect(r.ids).toEqual(['N:a', 'N:c']);
    expect(r.lineage.map((l) => [l.id, l.kind, l.since])).toEqual([
      ['N:a', 'new', '2026-02-28'],
      ['N:c', 'new', '2026-02-28'],
    ]);
    expect(r.counts).toEqual({ kept: 0, new: 2, merges: 0, splits: 0, split_parts: 0, retired: 0 });
  });

  it('keeps an id when its group gains or loses members', () => {
    const prev = previous({ X: ['a', 'b'], Y: ['c', 'd'] });
    const groups = [['a', 'b', 'e'], ['d']];
    const r = carryOverIds(groups, prev, '2026-02-28', mint(groups));
    expect(r.ids).toEqual(['X', 'Y']);
    expect(r.counts).toMatchObject({ kept: 2, new: 0, retired: 0 });
    expect(r.lineage.find((l) => l.id === 'X')).toMatchObject({ kind: 'kept', since: '2026-01-31', fromIds: ['X'] });
  });

  it('on a merge the older id survives and the other is retired into it', () => {
    const prev = previous({ X: ['a', 'b', 'c'], Y: ['d'] }, { X: '2026-01-31', Y: '2025-12-31' });
    const groups = [['a', 'b', 'c', 'd']];
    const r = carryOverIds(groups, prev, '2026-02-28', mint(groups));
    expect(r.ids).toEqual(['Y']); // older, though smaller
    expect(r.lineage).toEqual([
      { id: 'X', kind: 'retired', since: '2026-01-31', fromIds: [], toIds: ['Y'] },
      { id: 'Y', kind: 'merge', since: '2025-12-31', fromIds: ['X', 'Y'], toIds: [] },
    ]);
    expect(r.counts).toMatchObject({ kept: 1, merges: 1, retired: 1 });
  });

  it('on a split the larger part keeps the id, the smaller gets a new salted id', () => {
    const prev = previous({ X: ['a', 'b', 'c'] });
    const groups = [['a'], ['b', 'c']];
    const r = carryOverIds(groups, prev, '2026-02-28', mint(groups));
    expect(r.ids).toEqual(['N:a@2026-02-28', 'X']);
    expect(r.counts).toMatchObject({ kept: 1, splits: 1, split_parts: 1, new: 0 });
    expect(r.lineage.find((l) => l.id === 'X')).toMatchObject({ kind: 'split', toIds: ['N:a@2026-02-28', 'X'] });
    expect(r.lineage.find((l) => l.id === 'N:a@2026-02-28')).toMatchObject({
      kind: 'split',
      since: '2026-02-28',
      fromIds: ['X'],
    });
  });

  it('retires an id none of whose members is left, mints new ones, and never reuses a previous id', () => {
    const prev = previous({ X: ['a'], 'N:z@2026-02-28': ['q'] });
    const groups = [['z']];
    const r = carryOverIds(groups, prev, '2026-02-28', mint(groups));
    expect(r.ids).toEqual(['N:z@2026-02-28#1']);
    expect(r.counts).toMatchObject({ new: 1, retired: 2, kept: 0 });
  });

  it('is deterministic whatever the order of members', () => {
    const prev = previous({ X: ['a', 'b'], Y: ['c', 'd'] });
    const a = carryOverIds(
      [
        ['a', 'c'],
        ['b', 'd'],
      ],
      prev,
      '2026-02-28',
      mint([
        ['a', 'c'],
        ['b', 'd'],
      ]),
    );
    const b = carryOverIds(
      [
        ['c', 'a'],
        ['d', 'b'],
      ],
      prev,
      '2026-02-28',
      mint([
        ['c', 'a'],
        ['d', 'b'],
      ]),
    );
    expect(b).toEqual(a);
  });
});
