/**
 * Framed files: a sequence of v8-serialised values, each prefixed by its length (4 bytes, little-endian), read back
 * one frame at a time from a stream. A sharded stage's part file written this way is read (and k-way merged) without
 * holding the whole file, or every part, in memory.
 */
import type { Readable } from 'node:stream';
import { deserialize, serialize } from 'node:v8';

/** The values as one framed buffer (`framesOf(values)` read back by `readFrames` gives the values in order). */
export function framesOf(values: Iterable<unknown>): Buffer {
  const parts: Buffer[] = [];
  for (const v of values) {
    const body = serialize(v);
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32LE(body.length, 0);
    parts.push(head, body);
  }
  return Buffer.concat(parts);
}

/** The values of a framed stream, in order (`what` names the file in the error of a truncated one). */
export async function* readFrames<T = unknown>(stream: Readable, what: string): AsyncGenerator<T> {
  const pending: Buffer[] = [];
  let held = 0;
  let need = -1; // bytes of the frame being read (-1: its length not read yet)
  const take = (n: number): Buffer => {
    // the first n bytes held, as one buffer (copied only when they span chunks)
    const first = pending[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) pending.shift();
      else pending[0] = first.subarray(n);
      held -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const b = pending[0]!;
      const k = Math.min(b.length, n - at);
      b.copy(out, at, 0, k);
      at += k;
      if (k === b.length) pending.shift();
      else pending[0] = b.subarray(k);
    }
    held -= n;
    return out;
  };
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    pending.push(chunk);
    held += chunk.length;
    for (;;) {
      if (need < 0) {
        if (held < 4) break;
        need = take(4).readUInt32LE(0);
      }
      if (held < need) break;
      const body = take(need);
      need = -1;
      yield deserialize(body) as T;
    }
  }
  if (need >= 0 || held > 0) throw new Error(`${what}: the file ends inside a frame (truncated)`);
}
