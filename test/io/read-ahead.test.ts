import { describe, expect, it } from 'vitest';
import { readAhead } from '../../pipelines/io/read-ahead.ts';

describe('readAhead', () => {
  it('starts the source at once and yields its items in order, once', async () => {
    const steps: string[] = [];
    async function* source() {
      try {
        steps.push('started');
        yield 1;
        yield 2;
        yield 3;
      } finally {
        steps.push('finished');
      }
    }
    const ahead = readAhead(source());
    await Promise.resolve();
    expect(steps).toEqual(['started']);
    const got: number[] = [];
    for await (const x of ahead) got.push(x);
    expect(got).toEqual([1, 2, 3]);
    expect(steps).toEqual(['started', 'finished']);
    await expect(
      (async () => {
        for await (const _ of ahead) {
          /* second read */
        }
      })(),
    ).rejects.toThrow(/already read/);
  });

  it('with eager false starts nothing until read, then yields the same items; closing it unread starts nothing', async () => {
    const steps: string[] = [];
    async function* source() {
      steps.push('started');
      yield 1;
      yield 2;
    }
    const later = readAhead(source(), false);
    await Promise.resolve();
    expect(steps).toEqual([]);
    const got: number[] = [];
    for await (const x of later) got.push(x);
    expect(got).toEqual([1, 2]);
    expect(steps).toEqual(['started']);
    const unread = readAhead(source(), false);
    await unread.close();
    expect(steps).toEqual(['started']);
  });

  it('reports a failing first step to the reader, not as an unhandled rejection', async () => {
    async function* failing(): AsyncGenerator<number> {
      await Promise.resolve();
      if (Date.now() > 0) throw new Error('facts: /x/facts.parquet is missing');
      yield 0;
    }
    const ahead = readAhead(failing());
    await new Promise((r) => setTimeout(r, 10));
    await expect(
      (async () => {
        for await (const _ of ahead) {
          /* read */
        }
      })(),
    ).rejects.toThrow(/facts.parquet is missing/);
  });

  it('close() ends a source that is never read (its finally block runs)', async () => {
    let freed = false;
    async function* source() {
      try {
        yield 'a';
        yield 'b';
      } finally {
        freed = true;
      }
    }
    const ahead = readAhead(source());
    await ahead.close();
    expect(freed).toBe(true);
  });

  it('close() after a partial read ends the source too', async () => {
    let freed = false;
    async function* source() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        freed = true;
      }
    }
    const ahead = readAhead(source());
    for await (const x of ahead) if (x === 2) break;
    expect(freed).toBe(true);
    await ahead.close();
  });
});
