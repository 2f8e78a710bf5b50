/**
 * No two of the product's modules import each other, directly or round a loop, type-only imports included: the
 * check `npm run lint` runs (scripts/check-import-cycles.ts), here too so the suite fails on a cycle whatever the
 * lint script says (the formatter's commit once dropped the check from it, and a 69-file cycle went unseen).
 */
import { describe, expect, it } from 'vitest';
import { cycles, importGraph, pathRound, SOURCE_DIRS, tsFiles } from '../../scripts/import-graph.ts';
import pkg from '../../package.json' with { type: 'json' };

describe('import cycles', () => {
  it('there are none among infra, functions, pipelines, matching, models and fixtures', () => {
    const graph = importGraph(SOURCE_DIRS.flatMap(tsFiles));
    expect(cycles(graph).map((c) => pathRound(graph, c).join(' -> '))).toEqual([]);
  });

  it('the check finds a cycle when there is one (a -> b -> a), and names the path', () => {
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['a.ts', 'c.ts']],
      ['c.ts', []],
    ]);
    const found = cycles(graph);
    expect(found).toHaveLength(1);
    expect(pathRound(graph, found[0]!)).toEqual(expect.arrayContaining(['a.ts', 'b.ts']));
  });

  it('npm run lint runs the check', () => {
    expect(pkg.scripts.lint).toContain('tsx scripts/check-import-cycles.ts');
  });
});
