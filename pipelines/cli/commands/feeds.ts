/** `locality feeds docs`: regenerate the provider reference (docs/feeds) from the zod feed contracts. */
import type { Command } from 'commander';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { DOCS_DIR, renderFeedDocs } from '../../feeds/docs.ts';

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else out.push(p);
  }
  return out;
}

/** Write the generated docs under `root`; remove stale generated files. Returns what changed. */
export async function writeFeedDocs(
  root: string,
  check = false,
): Promise<{ written: string[]; removed: string[]; unchanged: number }> {
  const docs = renderFeedDocs();
  const written: string[] = [];
  const removed: string[] = [];
  let unchanged = 0;
  for (const [rel, content] of docs) {
    const p = join(root, rel);
    const current = await readFile(p, 'utf8').catch(() => null);
    if (current === content) {
      unchanged++;
      continue;
    }
    written.push(rel);
    if (!check) {
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, content);
    }
  }
  for (const p of await listFiles(join(root, DOCS_DIR))) {
    const rel = relative(root, p).split('\\').join('/');
    if (!docs.has(rel)) {
      removed.push(rel);
      if (!check) await rm(p);
    }
  }
  return { written, removed, unchanged };
}

export function register(program: Command): void {
  const feeds = program.command('feeds').description('Feed contracts for data providers');
  feeds
    .command('docs')
    .description(`Regenerate the feed reference (${DOCS_DIR}/: JSON Schema + Markdown per feed) from pipelines/feeds`)
    .option('--root <dir>', 'repository root to write under', process.cwd())
    .option('--check', 'only report whether the committed docs are up to date (exit 1 if not)')
    .action(async (opts: { root: string; check?: boolean }) => {
      const r = await writeFeedDocs(opts.root, opts.check ?? false);
      const changed = r.written.length + r.removed.length;
      if (opts.check) {
        if (changed > 0) {
          process.stdout.write(
            `${DOCS_DIR} is out of date: ${[...r.written, ...r.removed].join(', ')}\nrun: npm run locality -- feeds docs\n`,
          );
          process.exitCode = 1;
        } else process.stdout.write(`${DOCS_DIR} is up to date (${r.unchanged} files)\n`);
        return;
      }
      process.stdout.write(
        `${DOCS_DIR}: ${r.written.length} written, ${r.removed.length} removed, ${r.unchanged} unchanged\n`,
      );
    });
}
