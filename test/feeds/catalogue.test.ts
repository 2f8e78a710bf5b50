import { describe, expect, it } from 'vitest';
import { FEEDS, IDENTITY_COLUMNS } from '../../pipelines/feeds/catalogue.ts';
import { FEED_CONTRACTS, contractFor } from '../../pipelines/feeds/index.ts';

describe('catalogue.ts and the zod feed contracts agree', () => {
  it('have the same feeds in the same order', () => {
    expect(FEED_CONTRACTS.map((c) => `${c.source}/${c.feed}`)).toEqual(FEEDS.map((f) => `${f.source}/${f.feed}`));
  });

  for (const f of FEEDS) {
    it(`${f.source}/${f.feed}: same columns in order, kind, optional columns and enumerations`, () => {
      const c = contractFor(f.source, f.feed)!;
      expect(Object.keys(c.fields)).toEqual([...f.columns]);
      expect(c.kind).toBe(f.kind);
      expect([...c.optionalColumns]).toEqual([...(f.optionalColumns ?? [])]);
      if (f.kind === 'people') for (const col of IDENTITY_COLUMNS) expect(f.columns).toContain(col);
      if (f.kind !== 'people') expect(f.columns).toContain('record_ref');
      // Every "<column> is a | b | c" enumeration written in the catalogue description is the contract's enum.
      for (const m of f.description.matchAll(/(\w+) is ((?:\w+)(?: \| \w+)+)/g)) {
        const field = c.fields[m[1]!];
        expect(field, `${m[1]} named in the catalogue description`).toBeDefined();
        const listed = m[2]!.split(' | ').filter((v) => v !== 'blank');
        expect([...(field!.meta.values ?? [])], `${f.source}/${f.feed} ${m[1]}`).toEqual(listed);
        expect(field!.meta.required, `${m[1]} blank allowed iff the catalogue says "| blank"`).toBe(
          !m[2]!.includes('blank'),
        );
      }
    });
  }

  it('finds the enumerations it checks in the catalogue descriptions', () => {
    const n = FEEDS.reduce((acc, f) => acc + [...f.description.matchAll(/(\w+) is ((?:\w+)(?: \| \w+)+)/g)].length, 0);
    expect(n).toBeGreaterThanOrEqual(9);
  });

  it('sex in every people feed is M | F | U | blank as the catalogue says', () => {
    for (const c of FEED_CONTRACTS.filter((x) => x.kind === 'people')) {
      expect(c.fields.sex!.meta.values).toEqual(['M', 'F', 'U']);
      expect(c.fields.sex!.meta.required).toBe(false);
    }
  });
});
