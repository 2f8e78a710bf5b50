/** An ObjectStore seen through a key prefix: a publish step writes `target-lists/x.csv` and it lands in the run's staging. */
import type { Readable } from 'node:stream';
import { assertSafeKey, type ObjectInfo, type ObjectStore } from '../io/object-store.ts';

export function prefixedStore(base: ObjectStore, prefix: string): ObjectStore {
  if (!prefix.endsWith('/')) throw new Error(`prefixedStore: prefix "${prefix}" must end with "/"`);
  const full = (key: string) => {
    assertSafeKey(key);
    return `${prefix}${key}`;
  };
  return {
    location: `${base.location}/${prefix.slice(0, -1)}`,
    get: (key: string): Promise<Buffer> => base.get(full(key)),
    getStream: (key: string): Promise<Readable> => base.getStream(full(key)),
    put: (key: string, body: Buffer | string | Readable): Promise<void> => base.put(full(key), body),
    putIfAbsent: (key: string, body: Buffer | string): Promise<boolean> => base.putIfAbsent(full(key), body),
    exists: (key: string): Promise<boolean> => base.exists(full(key)),
    list: async (p: string): Promise<ObjectInfo[]> =>
      (await base.list(`${prefix}${p}`)).map((o) => ({ key: o.key.slice(prefix.length), size: o.size })),
    delete: (key: string): Promise<void> => base.delete(full(key)),
    localPath: (key: string): Promise<string> => base.localPath(full(key)),
  };
}
