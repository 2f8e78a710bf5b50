/**
 * Release as a promotion: a run's outputs are written to its staging prefix in the secure zone
 * (`secure: as_at=D/staging/<run id>/`), and become the published folder `outputs: as_at=D/` in one step, only
 * after the privacy scan passed and the audit was written (and, where configured, IG signed off).
 * A reader of the published folder sees the old complete set or the new complete set, never a mix.
 *
 * Every set carries `_CURRENT.json` (the release marker): the run id, the sign-off, and
 * each file's SHA-256. Two ways to promote, the same marker and the same reader rule (readReleasedSet):
 *  - local directories on one file system ('link'): `outputs/as_at=D` is a symbolic link to
 *    `outputs/_releases/as_at=D/<run id>.<n>/`. The staged folder is moved (renamed) there, then a new link is
 *    renamed over the old one: rename(2) replaces the name atomically, so the folder is always the old set or the
 *    new one, even if the process dies between any two steps (what is left is an unlinked folder, tidied by the
 *    next promotion or by recoverRelease).
 *  - object stores (S3) and anything else ('copy'): there is no atomic rename of many keys. The marker first says
 *    `promoting` (from run A to run B), the staged objects are copied over, objects not in the new set are deleted,
 *    then the marker says `live` for B, and the staging is deleted. A reader reads the marker first: `promoting`
 *    means "a release is under way: wait and read again"; `live` lists the files with their SHA-256, which the
 *    reader checks (a file that does not match means the set changed while it read: read again). A promotion that
 *    died is finished by recoverRelease from its journal (the staged set is kept until the marker says live).
 */
import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readlink, rename, rm, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalObjectStore } from '../io/local-object-store.ts';
import type { ObjectStore } from '../io/object-store.ts';
import { keys } from '../layout.ts';

export const CURRENT_MARKER = '_CURRENT.json';

export interface Signoff {
  decision: 'approve' | 'reject';
  by: string;
  at: string;
  note: string;
}

export interface ReleasedFile {
  name: string;
  sha256: string;
  bytes: number;
}

export interface ReleaseMarker {
  markerVersion: 1;
  asAt: string;
  runId: string;
  state: 'live' | 'promoting';
  signoff: Signoff | null;
  files: ReleasedFile[];
}

export interface ReleaseStores {
  secure: ObjectStore;
  outputs: ObjectStore;
}

export type PromotionMode = 'link' | 'copy';

export interface PromoteOptions {
  /** Default: 'link' for two local directories on one file system, else 'copy'. */
  mode?: PromotionMode;
  signoff?: Signoff | null;
  /** Called after each step (tests throw here to simulate a crash between steps). */
  afterStep?: (step: string) => void | Promise<void>;
}

const JOURNAL = '_promoting.json';
const journalKey = (asAt: string) => `as_at=${asAt}/staging/${JOURNAL}`;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function readJson<T>(store: ObjectStore, key: string): Promise<T | undefined> {
  if (!(await store.exists(key))) return undefined;
  return JSON.parse((await store.get(key)).toString('utf8')) as T;
}

/** The marker of the set live for the date (undefined: nothing released yet). */
export async function readCurrent(outputs: ObjectStore, asAt: string): Promise<ReleaseMarker | undefined> {
  return readJson<ReleaseMarker>(outputs, keys.current(asAt));
}

/** The files of a staged set (relative names, sorted), without its marker. */
async function stagedFiles(secure: ObjectStore, asAt: string, runId: string): Promise<string[]> {
  const prefix = keys.stagingPrefix(asAt, runId);
  return (await secure.list(prefix)).map((o) => o.key.slice(prefix.length)).filter((n) => n !== CURRENT_MARKER);
}

/** Whether a run has a staged set waiting (it has been published to staging and not promoted). */
export async function hasStagedSet(secure: ObjectStore, asAt: string, runId: string): Promise<boolean> {
  return (await secure.list(keys.stagingPrefix(asAt, runId))).length > 0;
}

/** Writes the staged set's marker (every file's hash): the set is then complete and ready to promote. */
async function seal(stores: ReleaseStores, asAt: string, runId: string, opts: PromoteOptions): Promise<ReleaseMarker> {
  const files: ReleasedFile[] = [];
  for (const name of await stagedFiles(stores.secure, asAt, runId)) {
    const body = await stores.secure.get(keys.staged(asAt, runId, name));
    files.push({ name, sha256: sha256(body), bytes: body.length });
  }
  const marker: ReleaseMarker = {
    markerVersion: 1,
    asAt,
    runId,
    state: 'live',
    signoff: opts.signoff ?? null,
    files,
  };
  await stores.secure.put(keys.staged(asAt, runId, CURRENT_MARKER), `${JSON.stringify(marker, null, 2)}\n`);
  return marker;
}

async function sameFileSystem(a: string, b: string): Promise<boolean> {
  await mkdir(a, { recursive: true });
  await mkdir(b, { recursive: true });
  return (await stat(a)).dev === (await stat(b)).dev;
}

export async function promotionMode(stores: ReleaseStores): Promise<PromotionMode> {
  const { secure, outputs } = stores;
  if (secure instanceof LocalObjectStore && outputs instanceof LocalObjectStore && process.platform !== 'win32') {
    return (await sameFileSystem(secure.root, outputs.root)) ? 'link' : 'copy';
  }
  return 'copy';
}

/**
 * Promote a run's staged set to the published folder for its date. Throws when nothing is staged for the run.
 * Returns the marker of the set now live.
 */
export async function promoteRelease(
  stores: ReleaseStores,
  asAt: string,
  runId: string,
  opts: PromoteOptions = {},
): Promise<ReleaseMarker> {
  await recoverRelease(stores, asAt, opts);
  if (!(await hasStagedSet(stores.secure, asAt, runId))) {
    throw new Error(
      `release: nothing staged for run ${runId} (as-at ${asAt}) in ${stores.secure.location}: publish it first`,
    );
  }
  const marker = await seal(stores, asAt, runId, opts);
  await opts.afterStep?.('sealed');
  await stores.secure.put(journalKey(asAt), JSON.stringify({ runId }));
  await opts.afterStep?.('journal');
  await finishPromotion(stores, asAt, runId, opts);
  return marker;
}

async function finishPromotion(
  stores: ReleaseStores,
  asAt: string,
  runId: string,
  opts: PromoteOptions,
): Promise<void> {
  const mode = opts.mode ?? (await promotionMode(stores));
  if (mode === 'link')
    await promoteByLink(stores.secure as LocalObjectStore, stores.outputs as LocalObjectStore, asAt, runId, opts);
  else await promoteByCopy(stores, asAt, runId, opts);
  await stores.secure.delete(journalKey(asAt));
  await opts.afterStep?.('done');
}

/**
 * Finish a promotion that died part way (its journal is still there). Safe to call at any time; promoteRelease
 * and prepare call it first.
 */
export async function recoverRelease(stores: ReleaseStores, asAt: string, opts: PromoteOptions = {}): Promise<void> {
  const journal = await readJson<{ runId: string }>(stores.secure, journalKey(asAt));
  if (!journal) return;
  await finishPromotion(stores, asAt, journal.runId, { ...opts, afterStep: undefined });
}

// ---- local: a symbolic link renamed over the old one -------------------------------------------------

const releasesDir = (outputs: LocalObjectStore, asAt: string) => join(outputs.root, '_releases', `as_at=${asAt}`);

async function linkTarget(path: string): Promise<string | null> {
  try {
    const st = await lstat(path);
    return st.isSymbolicLink() ? await readlink(path) : '';
  } catch {
    return null;
  }
}

async function promoteByLink(
  secure: LocalObjectStore,
  outputs: LocalObjectStore,
  asAt: string,
  runId: string,
  opts: PromoteOptions,
): Promise<void> {
  const staged = join(secure.root, ...keys.stagingPrefix(asAt, runId).split('/').filter(Boolean));
  const releases = releasesDir(outputs, asAt);
  const live = join(outputs.root, `as_at=${asAt}`);
  await mkdir(releases, { recursive: true });
  // 1. the staged folder moves into the outputs zone, beside the live set (not yet what readers see)
  const existing = (await readdir(releases)).filter((d) => d.startsWith(`${runId}.`)).sort();
  let dir = existing.length ? existing[existing.length - 1]! : undefined;
  if (
    await stat(staged).then(
      () => true,
      () => false,
    )
  ) {
    dir = `${runId}.${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
    await rename(staged, join(releases, dir));
    await opts.afterStep?.('moved');
  }
  if (!dir)
    throw new Error(`release: run ${runId} (as-at ${asAt}) has neither a staged nor a moved set: cannot promote`);
  const target = `_releases/as_at=${asAt}/${dir}`;
  // 2. the link: a new one renamed over the old (atomic); a real folder from before releases were links moves aside first
  const current = await linkTarget(live);
  if (current !== target) {
    if (current === '') await rename(live, join(releases, `previous.${Date.now().toString(36)}`));
    const tmp = join(releases, `.link.${randomBytes(6).toString('hex')}`);
    await symlink(target, tmp, 'dir');
    await rename(tmp, live);
    await opts.afterStep?.('swapped');
  }
  // 3. earlier sets (and stray temp links) go
  for (const d of await readdir(releases)) if (d !== dir) await rm(join(releases, d), { recursive: true, force: true });
}

// ---- object stores: copy, then the marker --------------------------------------------------------------

async function promoteByCopy(stores: ReleaseStores, asAt: string, runId: string, opts: PromoteOptions): Promise<void> {
  const { secure, outputs } = stores;
  const sealed = await readJson<ReleaseMarker>(secure, keys.staged(asAt, runId, CURRENT_MARKER));
  const current = await readCurrent(outputs, asAt).catch(() => undefined);
  if (!sealed) {
    // the staging was being deleted when the promotion died: the new set is live already
    if (current?.runId === runId && current.state === 'live') return deleteStaging(secure, asAt, runId);
    throw new Error(`release: run ${runId} (as-at ${asAt}) has no sealed staged set and is not live: cannot promote`);
  }
  const live = keys.releasePrefix(asAt);
  if (current?.state !== 'promoting' || current.runId !== runId) {
    const promoting: ReleaseMarker = { ...sealed, state: 'promoting', files: [] };
    await outputs.put(keys.current(asAt), `${JSON.stringify(promoting, null, 2)}\n`);
    await opts.afterStep?.('marker-promoting');
  }
  const names = new Set(sealed.files.map((f) => f.name));
  for (const f of sealed.files) {
    await outputs.put(`${live}${f.name}`, await secure.get(keys.staged(asAt, runId, f.name)));
    await opts.afterStep?.(`copied ${f.name}`);
  }
  for (const o of await outputs.list(live)) {
    const name = o.key.slice(live.length);
    if (name !== CURRENT_MARKER && !names.has(name)) await outputs.delete(o.key);
  }
  await opts.afterStep?.('stale-deleted');
  await outputs.put(keys.current(asAt), `${JSON.stringify(sealed, null, 2)}\n`);
  await opts.afterStep?.('marker-live');
  await deleteStaging(secure, asAt, runId);
}

async function deleteStaging(secure: ObjectStore, asAt: string, runId: string): Promise<void> {
  // the marker last: while it is there, the staged set is known to be complete
  const prefix = keys.stagingPrefix(asAt, runId);
  for (const o of await secure.list(prefix)) if (!o.key.endsWith(`/${CURRENT_MARKER}`)) await secure.delete(o.key);
  await secure.delete(keys.staged(asAt, runId, CURRENT_MARKER));
}

// ---- readers ---------------------------------------------------------------------------------------------

export type ReleasedSet =
  | { state: 'none' }
  | { state: 'promoting'; runId: string }
  | { state: 'live'; marker: ReleaseMarker; files: Map<string, Buffer> };

/**
 * How a reader (a lead's download, a script, a test) reads the published folder: the marker, then the files it
 * lists, each checked against its SHA-256. Throws if a file does not match (the set changed while it was read:
 * read again).
 */
export async function readReleasedSet(outputs: ObjectStore, asAt: string): Promise<ReleasedSet> {
  const marker = await readCurrent(outputs, asAt);
  if (!marker) return { state: 'none' };
  if (marker.state === 'promoting') return { state: 'promoting', runId: marker.runId };
  const files = new Map<string, Buffer>();
  for (const f of marker.files) {
    const body = await outputs.get(`${keys.releasePrefix(asAt)}${f.name}`);
    if (sha256(body) !== f.sha256)
      throw new Error(
        `release: ${f.name} in the published folder for ${asAt} is not the one released by run ${marker.runId}: a release is under way, read again`,
      );
    files.set(f.name, body);
  }
  return { state: 'live', marker, files };
}

/**
 * Amend files of the set already published for the date (a rebuilt audit report after a clerical review import):
 * each file is written atomically, then the marker gets their new hashes. A reader between the two sees a hash
 * that does not match and reads again. Without a marker (nothing released through promotion) the files are written.
 */
export async function amendReleasedFiles(
  outputs: ObjectStore,
  asAt: string,
  files: Array<{ name: string; body: string | Buffer }>,
): Promise<void> {
  for (const f of files) await outputs.put(`${keys.releasePrefix(asAt)}${f.name}`, f.body);
  const marker = await readCurrent(outputs, asAt);
  if (!marker || marker.state !== 'live') return;
  const byName = new Map(marker.files.map((f) => [f.name, f]));
  for (const f of files) {
    const body = Buffer.isBuffer(f.body) ? f.body : Buffer.from(f.body);
    byName.set(f.name, { name: f.name, sha256: sha256(body), bytes: body.length });
  }
  const amended: ReleaseMarker = {
    ...marker,
    files: [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  };
  await outputs.put(keys.current(asAt), `${JSON.stringify(amended, null, 2)}\n`);
}
