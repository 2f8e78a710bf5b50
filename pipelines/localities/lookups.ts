/**
 * The partnership's lookups: the postcode directory (postcode -> ward) and the ward-locality configuration, from a
 * path on this machine or the landing zone's `lookups/` folder. Read by families (each family's locality), the
 * target lists and Start Well (locality names), the ward names of the target lists.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCsvColumns } from '../../matching/csv.ts';
import type { StratifyConfig } from '../../models/config.ts';
import {
  buildLocalityMap,
  buildPostcodeLookup,
  type LocalityMap,
  type PostcodeLookup,
} from '../../models/localities.ts';
import type { ObjectStore } from '../io/object-store.ts';
import { keys } from '../layout.ts';

// this file is two folders below the project root (pipelines/localities/), as the bundled CLI is (dist/cli/)
const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function lookupPath(p: string): string {
  if (isAbsolute(p)) return p;
  const fromCwd = resolve(p);
  return existsSync(fromCwd) ? fromCwd : join(projectRoot, p);
}

export interface LocalityLookups {
  postcodes: PostcodeLookup;
  localities: LocalityMap;
  unassigned: string;
}

/**
 * Reads a lookup file: a path on this machine (absolute, from the working directory, or from the project root), or
 * else the object `lookups/<file name>` in the landing zone (how a deployed pipeline, with no checkout beside it, gets
 * the partnership's postcode directory and ward-locality configuration).
 */
export async function readLookup(
  what: string,
  configured: string,
  landing?: ObjectStore,
): Promise<{ text: string; origin: string }> {
  const local = lookupPath(configured);
  if (existsSync(local)) {
    try {
      return { text: await readFile(local, 'utf8'), origin: local };
    } catch (err) {
      throw new Error(`${what} ${local}: cannot read (${(err as Error).message})`, { cause: err });
    }
  }
  const key = keys.lookup(basename(configured));
  if (landing && (await landing.exists(key)))
    return { text: (await landing.get(key)).toString('utf8'), origin: `${landing.location}/${key}` };
  throw new Error(
    `${what} ${configured}: not found (looked for ${local}${landing ? ` and ${landing.location}/${key}` : ''})`,
  );
}

export async function loadLocalityLookups(cfg: StratifyConfig, landing?: ObjectStore): Promise<LocalityLookups> {
  const pd = await readLookup('postcode directory', cfg.localities.postcodeDirectory, landing);
  const wlFile = await readLookup('ward-locality configuration', cfg.localities.wardLocalities, landing);
  const [pdText, pdPath, wlText, wlPath] = [pd.text, pd.origin, wlFile.text, wlFile.origin];
  const csv = parseCsvColumns(pdText, pdPath);
  const rows = function* () {
    for (let i = 0; i < csv.rows; i++) {
      const row: Record<string, string> = {};
      for (const h of csv.header) row[h] = csv.columns[h]![i]!;
      yield row;
    }
  };
  let wl: unknown;
  try {
    wl = JSON.parse(wlText);
  } catch (err) {
    throw new Error(`ward-locality configuration ${wlPath}: not JSON (${(err as Error).message})`, { cause: err });
  }
  return {
    postcodes: buildPostcodeLookup(rows(), pdPath),
    localities: buildLocalityMap(wl, wlPath),
    unassigned: cfg.localities.unassigned,
  };
}
