/**
 * The clustering report streamed (pipelines/io/pretty-json.ts): byte for byte what JSON.stringify(object, null, 2)
 * and a newline give, with the streamed array empty, of one item, of many in several batches, and nested values.
 */
import { describe, expect, it } from 'vitest';
import { prettyJsonChunks } from '../../pipelines/io/pretty-json.ts';

const text = (chunks: Iterable<string>) => [...chunks].join('');

describe('prettyJsonChunks', () => {
  const refusal = (k: number) => ({
    record_id_l: `r${k}"\\\n`,
    reason: 'single_weak_link',
    ...(k % 2 ? { column: 'nhs_number_token' } : {}),
    match_weight: -k / 3,
    nested: { a: [k, { b: [] }], c: {} },
  });
  for (const count of [0, 1, 7, 2501]) {
    it(`writes JSON.stringify's bytes with ${count} streamed items`, () => {
      const items = Array.from({ length: count }, (_, k) => refusal(k));
      const sizes = { '1': 3, '2': count, '10': 1 };
      const rows = [{ offset: -8, weight: -8.5, links: 12 }, { offset: 0 }];
      const expected = `${JSON.stringify({ sizeDistribution: sizes, refusedMerges: items, thresholdSensitivity: rows }, null, 2)}\n`;
      for (const batch of [1, 3, 1000])
        expect(
          text(
            prettyJsonChunks(
              [
                ['sizeDistribution', { value: sizes }],
                ['refusedMerges', { items: items.values() }],
                ['thresholdSensitivity', { value: rows }],
              ],
              batch,
            ),
          ),
        ).toBe(expected);
    });
  }
  it('writes an empty object, a streamed member last and values that are empty', () => {
    expect(text(prettyJsonChunks([]))).toBe(`${JSON.stringify({}, null, 2)}\n`);
    expect(
      text(
        prettyJsonChunks([
          ['a', { value: {} }],
          ['b', { value: [] }],
          ['c', { items: [1, 'x', null] }],
        ]),
      ),
    ).toBe(`${JSON.stringify({ a: {}, b: [], c: [1, 'x', null] }, null, 2)}\n`);
  });
});
