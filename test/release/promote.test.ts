/**
 * Release as a promotion (pipelines/release/promote.ts): a staged set becomes the published folder in one step.
 * Both ways (a link renamed over the old one; copy, then the marker) are killed after every step in turn: a reader
 * then sees the old complete set, or (copy) "a release is under way", never a mix; recovery finishes the promotion.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../../pipelines/io/local-object-store.ts';
import { keys } from '../../pipelines/layout.ts';
import {
  amendReleasedFiles,
  promoteRelease,
  readReleasedSet,
  recoverRelease,
  type PromotionMode,
} from '../../pipelines/release/promote.ts';

const AS_AT = '2026-03-31';
const roots: string[] = [];
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

async function setup() {
  const root = await mkdtemp(join(tmpdir(), 'release-'));
  roots.push(root);
  return {
    root,
    stores: {
      secure: new LocalObjectStore(join(root, 'secure')),
      outputs: new LocalObjectStore(join(root, 'outputs')),
    },
  };
}

type Stores = Awaited<ReturnType<typeof setup>>['stores'];

/** A run's set: every file names its run, so a mix of two sets is visible. */
async function stage(stores: Stores, runId: string, names: string[]): Promise<void> {
  for (const n of names) await stores.secure.put(keys.staged(AS_AT, runId, n), `${n} of ${runId}\n`);
}

/** What a reader of the published folder gets: the run each file belongs to, or the marker's state. */
async function readerView(stores: Stores): Promise<string> {
  const set = await readReleasedSet(stores.outputs, AS_AT);
  if (set.state !== 'live') return set.state;
  const runs = new Set([...set.files.entries()].map(([n, b]) => b.toString().replace(`${n} of `, '').trim()));
  // and the raw folder, listed as a person opening it would (every file there must belong to the same run)
  for (const o of await stores.outputs.list(keys.releasePrefix(AS_AT))) {
    if (o.key.endsWith('_CURRENT.json')) continue;
    runs.add(
      (await stores.outputs.get(o.key))
        .toString()
        .replace(/^.* of /, '')
        .trim(),
    );
  }
  return [...runs].sort().join('+');
}

const OLD = [
  'target-lists/North.csv',
  'target-lists/index.html',
  'match-audit/report.json',
  'manifest.json',
  'old-only.csv',
];
const NEW = [
  'target-lists/North.csv',
  'target-lists/index.html',
  'match-audit/report.json',
  'manifest.json',
  'start-well/report.html',
];

for (const mode of ['link', 'copy'] as PromotionMode[]) {
  describe(`promotion (${mode})`, () => {
    it('a passing set replaces the old one whole: files of the old set that the new one lacks are gone', async () => {
      const { stores } = await setup();
      await stage(stores, 'run-a', OLD);
      await promoteRelease(stores, AS_AT, 'run-a', { mode });
      expect(await readerView(stores)).toBe('run-a');
      await stage(stores, 'run-b', NEW);
      const marker = await promoteRelease(stores, AS_AT, 'run-b', { mode });
      expect(marker.files.map((f) => f.name)).toEqual([...NEW].sort());
      expect(await readerView(stores)).toBe('run-b');
      expect(await stores.outputs.exists(keys.output(AS_AT, 'old-only.csv'))).toBe(false);
      // the staging is gone from the secure zone once released
      expect(await stores.secure.list(keys.stagingPrefix(AS_AT, 'run-b'))).toEqual([]);
      await expect(promoteRelease(stores, AS_AT, 'run-c', { mode })).rejects.toThrow('nothing staged for run run-c');
    });

    it('killed after any step: the reader sees the old set (or, copying, that a release is under way), never a mix; recovery completes it', async () => {
      const steps: string[] = [];
      {
        const { stores } = await setup();
        await stage(stores, 'run-a', OLD);
        await promoteRelease(stores, AS_AT, 'run-a', { mode });
        await stage(stores, 'run-b', NEW);
        await promoteRelease(stores, AS_AT, 'run-b', { mode, afterStep: (s) => void steps.push(s) });
      }
      expect(steps).toEqual(
        mode === 'link'
          ? ['sealed', 'journal', 'moved', 'swapped', 'done']
          : [
              'sealed',
              'journal',
              'marker-promoting',
              ...NEW.map((n) => `copied ${n}`).sort(),
              'stale-deleted',
              'marker-live',
              'done',
            ],
      );
      for (const step of steps) {
        const { stores } = await setup();
        await stage(stores, 'run-a', OLD);
        await promoteRelease(stores, AS_AT, 'run-a', { mode });
        await stage(stores, 'run-b', NEW);
        await expect(
          promoteRelease(stores, AS_AT, 'run-b', {
            mode,
            afterStep: (s) => {
              if (s === step) throw new Error(`killed after ${s}`);
            },
          }),
        ).rejects.toThrow(`killed after ${step}`);
        const seen = await readerView(stores);
        const afterSwap = mode === 'link' ? ['swapped', 'done'] : ['marker-live', 'done'];
        const beforeAnything = ['sealed', 'journal'];
        if (afterSwap.includes(step)) expect(seen, step).toBe('run-b');
        else if (beforeAnything.includes(step) || mode === 'link') expect(seen, step).toBe('run-a');
        else expect(seen, step).toBe('promoting');
        await recoverRelease(stores, AS_AT, { mode });
        expect(await readerView(stores), `recovered after ${step}`).toBe(step === 'sealed' ? 'run-a' : 'run-b');
        // a killed promotion before its journal is simply promoted again
        if (step === 'sealed') {
          await promoteRelease(stores, AS_AT, 'run-b', { mode });
          expect(await readerView(stores)).toBe('run-b');
        }
      }
    });

    it('an amended file (an audit rebuilt after a review import) keeps the set readable', async () => {
      const { stores } = await setup();
      await stage(stores, 'run-a', OLD);
      await promoteRelease(stores, AS_AT, 'run-a', { mode });
      await amendReleasedFiles(stores.outputs, AS_AT, [
        { name: 'match-audit/report.json', body: 'match-audit/report.json of run-a\n' },
      ]);
      expect(await readerView(stores)).toBe('run-a');
    });
  });
}

describe('the local published folder', () => {
  it('is a link to its release, so a person opening outputs/as_at=D/ sees one set', async () => {
    const { root, stores } = await setup();
    await stage(stores, 'run-a', OLD);
    await promoteRelease(stores, AS_AT, 'run-a', { mode: 'link' });
    expect(await readFile(join(root, 'outputs', `as_at=${AS_AT}`, 'target-lists', 'North.csv'), 'utf8')).toBe(
      'target-lists/North.csv of run-a\n',
    );
    // listed once through the store (the release folder behind the link is not a second copy for readers)
    const listed = (await stores.outputs.list(keys.releasePrefix(AS_AT))).map((o) => o.key);
    expect(listed).toEqual([...OLD, '_CURRENT.json'].map((n) => keys.output(AS_AT, n)).sort());
  });
});
