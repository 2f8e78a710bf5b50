import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CsvFileError, readCsv, type CsvReadStats, type CsvRecord } from '../../pipelines/io/csv.ts';

async function parse(input: string | Buffer, chunkSize = 3): Promise<{ records: CsvRecord[]; stats: CsvReadStats }> {
  const buf = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; i += chunkSize) chunks.push(buf.subarray(i, i + chunkSize));
  const stats = { bytes: 0, sha256: '', blankLines: 0 };
  const records: CsvRecord[] = [];
  for await (const batch of readCsv(Readable.from(chunks), stats)) records.push(...batch);
  return { records, stats };
}

describe('readCsv', () => {
  for (const size of [1, 2, 3, 7, 1 << 16]) {
    it(`parses quoting, CRLF, BOM and embedded newlines whatever the chunking (chunk ${size})`, async () => {
      const text = '\uFEFFa,b,c\r\n1,"x, y","say ""hi"""\r\n2,"line1\r\nline2",\r\n3,,"é"\n4,"",z';
      const { records, stats } = await parse(text, size);
      expect(records.map((r) => r.fields)).toEqual([
        ['a', 'b', 'c'],
        ['1', 'x, y', 'say "hi"'],
        ['2', 'line1\r\nline2', ''],
        ['3', '', 'é'],
        ['4', '', 'z'],
      ]);
      expect(records.map((r) => r.line)).toEqual([1, 2, 3, 5, 6]);
      expect(records[2]!.raw).toBe('2,"line1\r\nline2",');
      expect(records.every((r) => r.malformed === undefined)).toBe(true);
      expect(stats.bytes).toBe(Buffer.byteLength(text));
      expect(stats.sha256).toMatch(/^[0-9a-f]{64}$/);
    });
  }

  it('counts blank lines and skips them, keeping physical line numbers', async () => {
    const { records, stats } = await parse('a,b\n\n1,2\r\n\r\n3,4\n\n');
    expect(records.map((r) => [r.line, r.fields.join('|')])).toEqual([
      [1, 'a|b'],
      [3, '1|2'],
      [5, '3|4'],
    ]);
    expect(stats.blankLines).toBe(3);
  });

  it('flags malformed quoting on the record and goes on', async () => {
    const { records } = await parse('a,b\n1,ab"c\n2,"x"y\n3,ok\n');
    expect(records[1]).toMatchObject({ line: 2, malformed: 'a quote inside an unquoted field', malformedField: 1 });
    expect(records[2]).toMatchObject({
      line: 3,
      malformed: 'text after a closing quote',
      malformedField: 1,
      fields: ['2', 'xy'],
    });
    expect(records[3]).toMatchObject({ line: 4, fields: ['3', 'ok'] });
  });

  it('rejects a file that is not UTF-8, naming the line', async () => {
    const bad = Buffer.concat([Buffer.from('a,b\n1,2\n3,'), Buffer.from([0xe9]), Buffer.from('t\n')]);
    await expect(parse(bad)).rejects.toThrow(/not UTF-8: invalid byte sequence at line 3 \(byte offset 10\)/);
    await expect(parse(Buffer.from([0xff, 0xfe, 0x61, 0x00, 0x2c, 0x00]))).rejects.toThrow(CsvFileError);
  });

  it('rejects binary content and unterminated quotes', async () => {
    await expect(parse('a,b\n1,\0\n')).rejects.toThrow(/not CSV: contains NUL bytes/);
    await expect(parse('a,b\n1,"never closed\n2,3\n')).rejects.toThrow(
      /unterminated quoted field at end of file \(the quoted field starts on or after line 2\)/,
    );
  });

  it('bounds memory: an overlong record is a file error', async () => {
    const stats = { bytes: 0, sha256: '', blankLines: 0 };
    const gen = readCsv(Readable.from([Buffer.from('a\n"'), Buffer.from('x'.repeat(5000))]), stats, {
      maxRecordChars: 1000,
    });
    await expect(
      (async () => {
        for await (const _ of gen) {
          /* drain */
        }
      })(),
    ).rejects.toThrow(/a record longer than 1000 characters starting at line 2/);
  });
});
