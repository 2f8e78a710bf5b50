import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../../pipelines/io/local-object-store.ts';
import type { ObjectStore } from '../../pipelines/io/object-store.ts';
import {
  acquireRunLock,
  currentRunLock,
  localHolderAlive,
  releaseRunLock,
  RUN_LOCKED_ERROR,
  RunLockedError,
  type RunLockOptions,
} from '../../pipelines/io/run-lock.ts';
import { S3ObjectStore } from '../../pipelines/io/s3-object-store.ts';
import { keys } from '../../pipelines/layout.ts';
import { createBucket, describeWithMoto, motoClient, uniqueBucket } from '../support/moto.ts';

const HOUR = 3_600_000;
const opts: RunLockOptions = { staleAfterMs: HOUR };

/** The same behaviour over both ObjectStore implementations (local directory; S3 through moto). */
/**
 * `concurrent`: the store's conditional put is atomic under concurrent requests (a local hard link; real S3). moto's is
 * not: it checks for the key, then writes, with no lock between (moto/s3/responses.py, threaded server), so two
 * simultaneous If-None-Match puts can both succeed there; against moto the takers go one after another.
 */
function lockBehaviour(newStore: () => Promise<ObjectStore>, concurrent: boolean): void {
  let n = 0;
  const date = () => `2026-0${1 + (n++ % 9)}-1${n % 10}`; // a fresh as-at date per test

  it('putIfAbsent writes once: the second writer is told the key is taken and the first body stays', async () => {
    const store = await newStore();
    expect(await store.putIfAbsent('a/b.json', 'first')).toBe(true);
    expect(await store.putIfAbsent('a/b.json', 'second')).toBe(false);
    expect((await store.get('a/b.json')).toString()).toBe('first');
    expect((await store.list('a/')).map((o) => o.key)).toEqual(['a/b.json']); // nothing partial left behind
  });

  it('of many executions taking one date at once, exactly one holds it; the others are refused naming it', async () => {
    const store = await newStore();
    const asAt = date();
    const take = (i: number) => acquireRunLock(store, asAt, { execution: `exec-${i}`, ranBy: 'test' }, opts);
    const tries = concurrent
      ? await Promise.allSettled(Array.from({ length: 8 }, (_, i) => take(i)))
      : await Array.from({ length: 8 }, (_, i) => i).reduce(
          async (acc, i) => [...(await acc), ...(await Promise.allSettled([take(i)]))],
          Promise.resolve([] as Array<PromiseSettledResult<Awaited<ReturnType<typeof take>>>>),
        );
    const held = tries.filter((t) => t.status === 'fulfilled');
    expect(held).toHaveLength(1);
    const winner = (held[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireRunLock>>>).value.lock.execution;
    for (const t of tries.filter((x) => x.status === 'rejected')) {
      const err = (t as PromiseRejectedResult).reason as Error;
      expect(err).toBeInstanceOf(RunLockedError);
      expect(err.name).toBe(RUN_LOCKED_ERROR);
      expect(err.message).toContain(`already being run by execution ${winner}`);
    }
    expect((await currentRunLock(store, asAt))?.execution).toBe(winner);
  });

  it('the holder taking it again (a retried Prepare) keeps it; release frees it for the next run', async () => {
    const store = await newStore();
    const asAt = date();
    const first = await acquireRunLock(store, asAt, { execution: 'A', ranBy: 'test' }, opts);
    expect((await acquireRunLock(store, asAt, { execution: 'A', ranBy: 'test' }, opts)).key).toBe(first.key);
    await expect(acquireRunLock(store, asAt, { execution: 'B', ranBy: 'test' }, opts)).rejects.toThrow(
      /already being run by execution A/,
    );
    expect(await releaseRunLock(store, asAt, 'B')).toBe(false); // not B's to release
    expect(await releaseRunLock(store, asAt, 'A')).toBe(true);
    expect(await currentRunLock(store, asAt)).toBeUndefined();
    expect((await acquireRunLock(store, asAt, { execution: 'B', ranBy: 'test' }, opts)).lock.execution).toBe('B');
  });

  it('a stale lock (older than the stale rule) is superseded by the next generation, once, and its holder cannot release the new one', async () => {
    const store = await newStore();
    const asAt = date();
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    await acquireRunLock(store, asAt, { execution: 'old', ranBy: 'test' }, { ...opts, now: () => new Date(t0) });
    const later = { ...opts, now: () => new Date(t0 + HOUR - 1) };
    await expect(acquireRunLock(store, asAt, { execution: 'new', ranBy: 'test' }, later)).rejects.toThrow(
      /execution old/,
    );
    const stale = { ...opts, now: () => new Date(t0 + HOUR + 1) };
    const takeOver = (e: string) => acquireRunLock(store, asAt, { execution: e, ranBy: 'test' }, stale);
    const takers = concurrent
      ? await Promise.allSettled(['new-1', 'new-2', 'new-3'].map(takeOver))
      : [
          ...(await Promise.allSettled([takeOver('new-1')])),
          ...(await Promise.allSettled([takeOver('new-2')])),
          ...(await Promise.allSettled([takeOver('new-3')])),
        ];
    const won = takers.filter((t) => t.status === 'fulfilled') as Array<
      PromiseFulfilledResult<Awaited<ReturnType<typeof acquireRunLock>>>
    >;
    expect(won).toHaveLength(1);
    expect(won[0]!.value.superseded?.execution).toBe('old');
    expect(won[0]!.value.key).toBe(keys.runLock(asAt, 2));
    expect(await releaseRunLock(store, asAt, 'old')).toBe(false);
    expect((await currentRunLock(store, asAt))?.execution).toBe(won[0]!.value.lock.execution);
    expect((await store.list(keys.runLockPrefix(asAt))).map((o) => o.key)).toEqual([keys.runLock(asAt, 2)]);
  });

  it('a lock object that is not a lock is refused with its key, not overwritten', async () => {
    const store = await newStore();
    const asAt = date();
    await store.put(keys.runLock(asAt, 1), 'not json');
    await expect(acquireRunLock(store, asAt, { execution: 'A', ranBy: 'test' }, opts)).rejects.toThrow(
      `${keys.runLock(asAt, 1)} is not a run lock`,
    );
  });
}

describe('run lock over a local directory', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'locality-run-lock-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  let i = 0;
  lockBehaviour(async () => new LocalObjectStore(join(dir, `s${i++}`)), true);

  it('locally, a lock whose process has exited is stale (a killed run does not block the next for hours)', async () => {
    const store = new LocalObjectStore(join(dir, 'dead'));
    const asAt = '2026-03-31';
    const lock = {
      asAt,
      execution: 'dead',
      ranBy: 'test',
      acquiredAt: new Date().toISOString(),
      host: (await import('node:os')).hostname(),
      pid: 2 ** 22 + 12345,
    };
    await store.put(keys.runLock(asAt, 1), JSON.stringify(lock));
    expect(localHolderAlive(lock)).toBe(false);
    expect(localHolderAlive({ ...lock, pid: process.pid })).toBe(true);
    expect(localHolderAlive({ ...lock, host: 'elsewhere' })).toBeUndefined();
    const held = await acquireRunLock(
      store,
      asAt,
      { execution: 'next', ranBy: 'test' },
      { staleAfterMs: HOUR, isHolderAlive: localHolderAlive },
    );
    expect(held.superseded?.execution).toBe('dead');
  });
});

describeWithMoto('run lock over S3 (moto: PutObject If-None-Match)', (endpoint) => {
  const client = motoClient(endpoint);
  const bucket = uniqueBucket('run-lock');
  beforeAll(async () => {
    await createBucket(client, bucket);
  });
  let i = 0;
  lockBehaviour(async () => new S3ObjectStore({ client, bucket, prefix: `t${i++}` }), false);
});
