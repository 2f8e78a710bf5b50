/**
 * Lint step (`npm run lint`): fails when the product's modules import each other in a cycle. A cycle lets a module run
 * while another it needs is half-initialised, and ties layers together (a report importing a stage that the stage
 * registry imports). Type-only imports count too: a type shared both ways belongs in a module of its own (as
 * pipelines/manifest-schema.ts and fixtures/generator/family.ts are). test/house/import-cycles.test.ts runs the same
 * check in the suite, so a lint script that loses this step (as the formatter's commit did) cannot hide a cycle.
 * See docs/decisions.md.
 */
import { cycles, importGraph, pathRound, SOURCE_DIRS, tsFiles } from './import-graph.ts';

const graph = importGraph(SOURCE_DIRS.flatMap(tsFiles));
const found = cycles(graph);
if (found.length > 0) {
  process.stderr.write(
    `import cycles (${found.length}): break each by moving what both sides need into a module of its own\n`,
  );
  for (const c of found) process.stderr.write(`  ${pathRound(graph, c).join(' -> ')}\n`);
  process.exit(1);
}
