/**
 * Read-ahead for async generators: start one now, read it later. For a Parquet read (iterateParquet) the first step
 * is DuckDB exporting the whole table on its own threads, so starting every table a stage needs at once overlaps
 * those exports with each other and with the JavaScript work on the table read before them.
 */

export interface ReadAhead<T> extends AsyncIterable<T> {
  /** Ends the source (its finally blocks run: temp files and DuckDB instances are freed); safe to call after reading. */
  close(): Promise<void>;
}

/**
 * Starts `source` (its first item is fetched now) and returns it to be read once, in order, later. A failure of that
 * first step is reported to the reader when it gets there (never as an unhandled rejection). Call `close()` when the
 * items may never be read (e.g. in a finally block): a source left suspended would keep its resources.
 * `eager: false` starts nothing until the items are read (where the memory or disk for several exports at once is
 * not there, e.g. a Lambda), with the same interface.
 */
export function readAhead<T>(source: AsyncGenerator<T, unknown, undefined>, eager = true): ReadAhead<T> {
  const first = eager ? source.next() : undefined;
  first?.catch(() => {});
  let taken = false;
  return {
    async *[Symbol.asyncIterator]() {
      if (taken) throw new Error('readAhead: the items were already read');
      taken = true;
      try {
        let r = await (first ?? source.next());
        while (!r.done) {
          yield r.value;
          r = await source.next();
        }
      } finally {
        await source.return(undefined);
      }
    },
    async close() {
      await first?.catch(() => {});
      await source.return(undefined);
    },
  };
}
