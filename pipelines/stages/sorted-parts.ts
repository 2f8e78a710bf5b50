/**
 * A sharded stage's merge of sorted row lines: each shard writes its rows as gzipped row lines (writeRowLines) sorted
 * by an id (a stable sort of its list), and the merge joins the parts by a k-way merge of those sorted streams, a tie
 * going to the earlier part. That is exactly a stable sort of every part's list concatenated in part order (the
 * standardise merge's relationships, standardise/relationships.ts writeRelationships; the stratify merge's scores),
 * but it holds one line per part, not every row.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip, createGzip } from 'node:zlib';
import type { ObjectStore } from '../io/object-store.ts';

/** The lines of a gzipped row-lines object, one at a time (with their newline), read as they are asked for. */
class LineReader {
  private readonly chunks: AsyncIterator<Buffer>;
  private readonly decoder = new StringDecoder('utf8');
  private buffered = '';
  private at = 0;
  private done = false;

  constructor(source: Readable) {
    const gunzip = createGunzip();
    source.on('error', (err) => gunzip.destroy(err));
    source.pipe(gunzip);
    this.chunks = gunzip[Symbol.asyncIterator]();
  }

  async next(): Promise<string | null> {
    for (;;) {
      const nl = this.buffered.indexOf('\n', this.at);
      if (nl >= 0) {
        const line = this.buffered.slice(this.at, nl + 1);
        this.at = nl + 1;
        return line;
      }
      if (this.done) {
        const rest = this.buffered.slice(this.at);
        this.buffered = '';
        this.at = 0;
        return rest.length ? `${rest}\n` : null;
      }
      const { value, done } = await this.chunks.next();
      this.buffered = this.buffered.slice(this.at) + (done ? this.decoder.end() : this.decoder.write(value));
      this.at = 0;
      if (done) this.done = true;
    }
  }

  async close(): Promise<void> {
    await this.chunks.return?.();
  }
}

/**
 * Gzipped row-lines parts (secure keys, in the whole stage's order), each sorted by `idOf` of its lines, merged into
 * one gzipped row-lines file at `path`, sorted by id with ties in part order. Returns the lines written.
 */
export async function mergeSortedParts(
  stage: string,
  store: ObjectStore,
  parts: readonly string[],
  path: string,
  idOf: (line: string) => string,
): Promise<number> {
  const readers: LineReader[] = [];
  const gzip = createGzip({ level: 1 });
  const file = createWriteStream(path);
  gzip.pipe(file);
  let written = 0;
  try {
    for (const k of parts) {
      if (!(await store.exists(k))) throw new Error(`${stage}: ${k} is missing: its shard did not write it`);
      readers.push(new LineReader(await store.getStream(k)));
    }
    const heads: Array<{ line: string; id: string } | null> = [];
    const advance = async (i: number) => {
      const line = await readers[i]!.next();
      heads[i] = line === null ? null : { line, id: idOf(line) };
    };
    for (let i = 0; i < readers.length; i++) await advance(i);
    for (;;) {
      // The lowest id; on a tie the earliest part (a strict < keeps the first seen).
      let best = -1;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i];
        if (h && (best < 0 || h.id < heads[best]!.id)) best = i;
      }
      if (best < 0) break;
      if (!gzip.write(heads[best]!.line)) await once(gzip, 'drain');
      written++;
      await advance(best);
    }
    gzip.end();
    await finished(file);
    return written;
  } catch (err) {
    gzip.destroy();
    file.destroy();
    throw err;
  } finally {
    for (const r of readers) await r.close().catch(() => {});
  }
}
