/**
 * Searching a run for planted clear values (the privacy tests plant a person, then require that no output, log or
 * message outside the secure zone carries any of their values).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { LocalObjectStore } from '../../pipelines/io/local-object-store.ts';
import { formatOf, unitsOf } from '../../pipelines/privacy/extract.ts';

/** Every file under a folder (none when it does not exist). */
export async function filesUnder(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true, recursive: true }).catch(() => []))
    if (e.isFile()) out.push(join(e.parentPath, e.name));
  return out;
}

/** A finder of the planted values in a text (case-insensitive), each hit with where it was found. */
export function plantedFinder(planted: readonly string[]): (text: string, where: string) => string[] {
  return (text, where) => {
    const upper = text.toUpperCase();
    return planted.filter((p) => upper.includes(p)).map((p) => `${where}: ${p}`);
  };
}

/** Every planted value in every file outside the secure zone (outputs, run manifests included, and curated; Parquet and XLSX by cell). */
export async function plantedOutsideSecure(out: string, planted: readonly string[]): Promise<string[]> {
  const found = plantedFinder(planted);
  const hits: string[] = [];
  for (const zone of ['outputs', 'curated']) {
    const store = new LocalObjectStore(join(out, zone));
    for (const path of await filesUnder(join(out, zone))) {
      const key = relative(join(out, zone), path);
      const fmt = formatOf(key);
      let text = '';
      if (fmt === 'parquet' || fmt === 'xlsx') for await (const u of unitsOf(store, key)) text += `${u.text}\n`;
      else text = await readFile(path, 'utf8');
      hits.push(...found(text, `${zone}/${key}`));
    }
  }
  return hits;
}
