/**
 * Framed files (pipelines/io/frames.ts): the families shards' part files, read back one frame at a time by the
 * merge. Whatever chunks the stream delivers (S3 bodies arrive in pieces of any size), the values come back in order;
 * a file cut short is refused, never read as fewer families.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { framesOf, readFrames } from '../../pipelines/io/frames.ts';

const values = [
  { runId: 'r', shard: 0, shards: 2 },
  Array.from({ length: 300 }, (_, i) => ({ familyId: `F${i}`, members: [{ personId: `P${i}` }] })),
  [],
  'last',
];

async function readAll(buf: Buffer, chunk: number): Promise<unknown[]> {
  const pieces: Buffer[] = [];
  for (let at = 0; at < buf.length; at += chunk) pieces.push(buf.subarray(at, at + chunk));
  const out: unknown[] = [];
  for await (const v of readFrames(Readable.from(pieces), 'test file')) out.push(v);
  return out;
}

describe('framed files', () => {
  it('give back every value in order, whatever the chunks the stream delivers', async () => {
    const buf = framesOf(values);
    for (const chunk of [1, 3, 7, 4096, buf.length])
      expect(await readAll(buf, chunk), `chunks of ${chunk}`).toEqual(values);
  });

  it('refuse a file cut short, inside a frame or inside a length', async () => {
    const buf = framesOf(values);
    await expect(readAll(buf.subarray(0, buf.length - 5), 64)).rejects.toThrow(
      /test file: the file ends inside a frame/,
    );
    const head = framesOf([values[0]]).length;
    await expect(readAll(buf.subarray(0, head + 2), 64)).rejects.toThrow(/ends inside a frame/);
  });
});
