import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../../pipelines/io/local-object-store.ts';

describe('LocalObjectStore', () => {
  it('puts, gets, lists by prefix in key order, and deletes', async () => {
    const store = new LocalObjectStore(await mkdtemp(join(tmpdir(), 'los-')));
    await store.put('b/2.txt', 'two');
    await store.put('a/1.txt', Buffer.from('one'));
    await store.put('a/sub/3.txt', Readable.from(['th', 'ree']));
    expect((await store.get('a/sub/3.txt')).toString()).toBe('three');
    expect((await store.list('a/')).map((o) => o.key)).toEqual(['a/1.txt', 'a/sub/3.txt']);
    expect((await store.list('')).map((o) => o.key)).toEqual(['a/1.txt', 'a/sub/3.txt', 'b/2.txt']);
    expect(await store.exists('b/2.txt')).toBe(true);
    await store.delete('b/2.txt');
    expect(await store.exists('b/2.txt')).toBe(false);
  });

  it('refuses keys that escape the root', async () => {
    const store = new LocalObjectStore(await mkdtemp(join(tmpdir(), 'los-')));
    await expect(store.put('../evil', 'x')).rejects.toThrow(/unsafe object key/);
    await expect(store.get('/etc/passwd')).rejects.toThrow(/unsafe object key/);
  });

  it('leaves no partial file behind when a stream write fails', async () => {
    const root = await mkdtemp(join(tmpdir(), 'los-'));
    const store = new LocalObjectStore(root);
    const failing = new Readable({
      read() {
        this.destroy(new Error('boom'));
      },
    });
    await expect(store.put('x/y.bin', failing)).rejects.toThrow('boom');
    expect(await readdir(join(root, 'x'))).toEqual([]);
  });
});
