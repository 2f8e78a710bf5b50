/**
 * `npm run bench:code-shape`: the baseline counts for issue #17's "short kernels, no import cycles": every function over 80
 * lines in matching/, models/ and pipelines/stages/ (name, file, lines, longest first), and the import cycles among
 * the repository's own TypeScript (strongly connected components of the relative-import graph; type-only imports
 * count too, as a reader follows them). Prints Markdown; `--json` for the figures alone.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { cycles, importGraph, ROOT, SOURCE_DIRS, tsFiles } from '../scripts/import-graph.ts';

const LIMIT = 80;
const KERNEL_DIRS = ['matching', 'models', 'pipelines/stages'];

interface LongFunction {
  file: string;
  name: string;
  lines: number;
}

function longFunctions(file: string): LongFunction[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2024, true);
  const out: LongFunction[] = [];
  const lineOf = (pos: number) => sf.getLineAndCharacterOfPosition(pos).line;
  const nameOf = (n: ts.Node): string => {
    if ((ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n)) && n.name) return n.name.getText(sf);
    if (ts.isConstructorDeclaration(n))
      return `${(n.parent as ts.ClassDeclaration).name?.getText(sf) ?? 'class'}.constructor`;
    const p = n.parent;
    if (p && ts.isVariableDeclaration(p)) return p.name.getText(sf);
    if (p && ts.isPropertyAssignment(p)) return p.name.getText(sf);
    return '(anonymous)';
  };
  const visit = (n: ts.Node) => {
    if (
      ts.isFunctionDeclaration(n) ||
      ts.isMethodDeclaration(n) ||
      ts.isConstructorDeclaration(n) ||
      ts.isArrowFunction(n) ||
      ts.isFunctionExpression(n)
    ) {
      const lines = lineOf(n.getEnd()) - lineOf(n.getStart(sf)) + 1;
      if (lines > LIMIT) out.push({ file, name: nameOf(n), lines });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

const kernelFiles = KERNEL_DIRS.flatMap(tsFiles).filter((f) => statSync(join(ROOT, f)).isFile());
const long = kernelFiles.flatMap(longFunctions).sort((a, b) => b.lines - a.lines);
const sccs = cycles(importGraph(SOURCE_DIRS.flatMap(tsFiles)));
if (process.argv.includes('--json')) {
  process.stdout.write(
    `${JSON.stringify({ functionsOver80: long.length, longFunctions: long, cycles: sccs.length, filesInCycles: sccs.reduce((a, c) => a + c.length, 0), components: sccs }, null, 2)}\n`,
  );
} else {
  process.stdout.write(
    `Functions over ${LIMIT} lines in ${KERNEL_DIRS.join(', ')}: ${long.length}\n\n| function | file | lines |\n|---|---|---|\n`,
  );
  for (const f of long) process.stdout.write(`| \`${f.name}\` | ${f.file} | ${f.lines} |\n`);
  process.stdout.write(
    `\nImport cycles among ${SOURCE_DIRS.join(', ')} (strongly connected components): ${sccs.length}, ${sccs.reduce((a, c) => a + c.length, 0)} files\n\n`,
  );
  for (const c of sccs) process.stdout.write(`- ${c.length} files: ${c.join(', ')}\n`);
}
