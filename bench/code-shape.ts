/**
 * `npm run bench:code-shape`: the baseline counts for issue #17's "short kernels, no import cycles": every function over 80
 * lines in matching/, models/ and pipelines/stages/ (name, file, lines, longest first), and the import cycles among
 * the repository's own TypeScript (strongly connected components of the relative-import graph; type-only imports
 * count too, as a reader follows them). Prints Markdown; `--json` for the figures alone.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(import.meta.dirname, '..');
const LIMIT = 80;
const KERNEL_DIRS = ['matching', 'models', 'pipelines/stages'];
const SOURCE_DIRS = ['infra', 'functions', 'pipelines', 'matching', 'models', 'fixtures'];

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...tsFiles(rel));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

interface LongFunction { file: string; name: string; lines: number }

function longFunctions(file: string): LongFunction[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2024, true);
  const out: LongFunction[] = [];
  const lineOf = (pos: number) => sf.getLineAndCharacterOfPosition(pos).line;
  const nameOf = (n: ts.Node): string => {
    if ((ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n)) && n.name) return n.name.getText(sf);
    if (ts.isConstructorDeclaration(n)) return `${(n.parent as ts.ClassDeclaration).name?.getText(sf) ?? 'class'}.constructor`;
    const p = n.parent;
    if (p && ts.isVariableDeclaration(p)) return p.name.getText(sf);
    if (p && ts.isPropertyAssignment(p)) return p.name.getText(sf);
    return '(anonymous)';
  };
  const visit = (n: ts.Node) => {
    if (ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isConstructorDeclaration(n) || ts.isArrowFunction(n) || ts.isFunctionExpression(n)) {
      const lines = lineOf(n.getEnd()) - lineOf(n.getStart(sf)) + 1;
      if (lines > LIMIT) out.push({ file, name: nameOf(n), lines });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

function importGraph(files: string[]): Map<string, string[]> {
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const sf = ts.createSourceFile(file, readFileSync(join(ROOT, file), 'utf8'), ts.ScriptTarget.ES2024, true);
    const deps: string[] = [];
    const add = (spec: string) => {
      if (!spec.startsWith('.')) return;
      const target = relative(ROOT, resolve(ROOT, dirname(file), spec)).split('\\').join('/');
      if (known.has(target)) deps.push(target);
    };
    sf.forEachChild((n) => {
      if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) add(n.moduleSpecifier.text);
    });
    const dyn = (n: ts.Node) => {
      if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments[0] && ts.isStringLiteral(n.arguments[0])) add(n.arguments[0].text);
      ts.forEachChild(n, dyn);
    };
    dyn(sf);
    graph.set(file, [...new Set(deps)]);
  }
  return graph;
}

/** Tarjan's strongly connected components; the cycles are the components of more than one file. */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const strong = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) out.push(comp.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) strong(v);
  return out.sort((a, b) => b.length - a.length);
}

const kernelFiles = KERNEL_DIRS.flatMap(tsFiles).filter((f) => statSync(join(ROOT, f)).isFile());
const long = kernelFiles.flatMap(longFunctions).sort((a, b) => b.lines - a.lines);
const sccs = cycles(importGraph(SOURCE_DIRS.flatMap(tsFiles)));
if (process.argv.includes('--json')) {
  process.stdout.write(`${JSON.stringify({ functionsOver80: long.length, longFunctions: long, cycles: sccs.length, filesInCycles: sccs.reduce((a, c) => a + c.length, 0), components: sccs }, null, 2)}\n`);
} else {
  process.stdout.write(`Functions over ${LIMIT} lines in ${KERNEL_DIRS.join(', ')}: ${long.length}\n\n| function | file | lines |\n|---|---|---|\n`);
  for (const f of long) process.stdout.write(`| \`${f.name}\` | ${f.file} | ${f.lines} |\n`);
  process.stdout.write(`\nImport cycles among ${SOURCE_DIRS.join(', ')} (strongly connected components): ${sccs.length}, ${sccs.reduce((a, c) => a + c.length, 0)} files\n\n`);
  for (const c of sccs) process.stdout.write(`- ${c.length} files: ${c.join(', ')}\n`);
}
