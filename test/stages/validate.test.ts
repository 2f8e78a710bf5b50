import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readParquet } from '../../pipelines/io/parquet.ts';
import {
  countsKey,
  discoverFeeds,
  validateStage,
  type FeedCounts,
  type QuarantineEntry,
} from '../../pipelines/stages/validate.ts';
import { testTree, TOKEN_A, TOKEN_B, type TestTree } from './validate-support.ts';

let t: TestTree;
beforeEach(async () => {
  t = await testTree();
});
afterEach(async () => t.dispose());

const HEALTH_HEADER =
  'person_ref,nhs_number_token,forename,surname,date_of_birth,sex,postcode,address_line_1,gp_practice';

async function quarantine(key: string): Promise<QuarantineEntry[]> {
  const text = (await t.stores.secure.get(key)).toString('utf8');
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as QuarantineEntry);
}

describe('validate stage', () => {
  it('accepts good rows, quarantines bad ones with file, line, field and reason, and reconciles counts', async () => {
    const csv = [
      `\uFEFF${HEALTH_HEADER}`,
      `H1,${TOKEN_A},Amy,Smith,2015-02-28,F,M14 5RB,"Flat 2, 10 Platt Lane",P84001`,
      `H2,${TOKEN_B},"Bob ""Rob""",Jones,1980-13-01,M,M1 1AE,1 High St,P84001`, // invalid date
      `H3,NOTATOKEN,Cara,Lee,2001-01-01,F,,,`, // bad token
      `H4,,"Dee`, // embedded newline in a quoted field: one record over two lines
      `Anne",Khan,1999-05-05,F,M8 0AA,,`,
      `H5,,Ed,Ng,2000-01-01,M,,`, // one field short
      `H1,${TOKEN_A},Amy,Smith,2015-02-28,F,M14 5RB,"Flat 2, 10 Platt Lane",P84001`, // exact duplicate of line 2
      ``,
    ].join('\r\n');
    await t.put('health/people/dt=2026-01-10/people.csv', csv);
    const res = await validateStage(t.ctx('2026-01-15'), { source: 'health', feed: 'people' });
    expect(res.counts).toMatchObject({
      files: 1,
      filesRejected: 0,
      rows: 6,
      accepted: 2,
      quarantined: 4,
      quarantined_invalid_date: 1,
      quarantined_bad_token: 1,
      quarantined_field_count: 1,
      quarantined_duplicate: 1,
    });
    const f = res.files[0]!;
    expect(f.key).toBe('health/people/dt=2026-01-10/people.csv');
    expect(f.sha256).toBe(createHash('sha256').update(csv).digest('hex'));
    expect(f.rows).toBe(f.accepted + f.quarantined);

    const accepted = await readParquet(t.stores.secure, f.acceptedKey!);
    expect(accepted.map((r) => [r._line, r.person_ref, r.forename])).toEqual([
      [2, 'H1', 'Amy'],
      [5, 'H4', 'Dee\r\nAnne'],
    ]);
    expect(accepted[0]!.address_line_1).toBe('Flat 2, 10 Platt Lane');

    const q = await quarantine(f.quarantineKey!);
    expect(q.map((e) => [e.line, e.field, e.reason])).toEqual([
      [3, 'date_of_birth', 'invalid_date'],
      [4, 'nhs_number_token', 'bad_token'],
      [7, '', 'field_count'],
      [8, '', 'duplicate'],
    ]);
    expect(q[0]!.file).toBe('health/people/dt=2026-01-10/people.csv');
    expect(q[0]!.row.forename).toBe('Bob "Rob"');
    expect(q[0]!.raw).toBe(`H2,${TOKEN_B},"Bob ""Rob""",Jones,1980-13-01,M,M1 1AE,1 High St,P84001`);
    expect(q[2]!.detail).toBe('expected 9 fields (as the header), found 8');
    expect(q[3]!.detail).toBe('exact duplicate of line 2');

    const counts = JSON.parse(
      (await t.stores.secure.get(countsKey('2026-01-15', 'health', 'people'))).toString(),
    ) as FeedCounts;
    expect(counts.files[0]).toEqual(f);
  });

  it('carries a lone CR inside a cell (quoted or not) forward unchanged', async () => {
    await t.put(
      'police/people/dt=2026-01-10/p.csv',
      'person_ref,forename,surname,date_of_birth,sex,postcode,address_line_1\nP1,A\rB,C,,,,\nP2,"D\rE",F,,,,x\r\nP3,G,H,,,,\n',
    );
    const r = await validateStage(t.ctx('2026-01-15'), { source: 'police', feed: 'people' });
    const rows = await readParquet(t.stores.secure, r.files[0]!.acceptedKey!);
    expect(rows.map((x) => [x._line, x.forename, x.address_line_1])).toEqual([
      [2, 'A\rB', ''],
      [3, 'D\rE', 'x'],
      [4, 'G', ''],
    ]);
  });

  it('carries every accepted cell forward exactly (seeded round trip of awkward text through the temp CSV and DuckDB)', async () => {
    let x = 12345;
    const rnd = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
    const bits = [
      '',
      ' ',
      '  lead',
      'trail  ',
      ',',
      '"',
      '""',
      "'",
      'Zoë',
      'Łódź',
      '日本',
      '\t',
      '\n',
      '\r\n',
      '\r',
      'NULL',
      'null',
      '\\N',
      'a,b',
      ' "q" ',
      '😀',
    ];
    const cell = () =>
      Array.from({ length: Math.floor(rnd() * 4) }, () => bits[Math.floor(rnd() * bits.length)]).join('');
    const quote = (v: string) => (/[",\r\n]/.test(v) || rnd() < 0.3 ? `"${v.replaceAll('"', '""')}"` : v);
    const expected: string[][] = [];
    let csv = 'person_ref,forename,surname,date_of_birth,sex,postcode,address_line_1\r\n';
    for (let i = 0; i < 400; i++) {
      const row = [`P${i}`, cell(), cell(), '', 'U', '', cell()];
      expected.push(row);
      csv += `${row.map(quote).join(',')}${rnd() < 0.5 ? '\r\n' : '\n'}`;
    }
    await t.put('police/people/dt=2026-01-10/p.csv', csv);
    const r = await validateStage(
      t.ctx('2026-01-15', { validate: { exactDuplicates: 'keep', onRejectedFile: 'continue' } }),
      { source: 'police', feed: 'people' },
    );
    expect(r.counts).toMatchObject({ rows: 400, accepted: 400 });
    const rows = await readParquet(t.stores.secure, r.files[0]!.acceptedKey!);
    expect(
      rows.map((o) => [o.person_ref, o.forename, o.surname, o.date_of_birth, o.sex, o.postcode, o.address_line_1]),
    ).toEqual(expected);
  });

  it('keeps exact duplicates (counted) when config says keep', async () => {
    const row = `H1,${TOKEN_A},Amy,Smith,2015-02-28,F,M14 5RB,x,P84001`;
    await t.put('health/people/dt=2026-01-10/people.csv', `${HEALTH_HEADER}\n${row}\n${row}\n${row}\n`);
    const res = await validateStage(
      t.ctx('2026-01-15', { validate: { exactDuplicates: 'keep', onRejectedFile: 'continue' } }),
      { source: 'health', feed: 'people' },
    );
    expect(res.counts).toMatchObject({ rows: 3, accepted: 3, quarantined: 0, duplicatesKept: 2 });
  });

  it('selects the latest snapshot on or before the as-at date, and every event extract on or before it', async () => {
    for (const dt of ['2026-01-01', '2026-02-01', '2026-03-01']) {
      await t.put(`health/people/dt=${dt}/people.csv`, `${HEALTH_HEADER}\nH-${dt},,,,,,,,\n`);
      await t.put(
        `social_care/episodes/dt=${dt}/episodes.csv`,
        `record_ref,person_ref,episode_type,start_date,end_date\nE-${dt},C1,referral,${dt},\n`,
      );
    }
    await t.put('health/people/dt=2026-02-01/_READY', '');
    const people = await validateStage(t.ctx('2026-02-15'), { source: 'health', feed: 'people' });
    expect(people.files.map((f) => f.key)).toEqual(['health/people/dt=2026-02-01/people.csv']);
    const counts = JSON.parse(
      (await t.stores.secure.get(countsKey('2026-02-15', 'health', 'people'))).toString(),
    ) as FeedCounts;
    expect(counts.ignored).toEqual([
      {
        key: 'health/people/dt=2026-03-01/people.csv',
        why: 'after_as_at',
        detail: 'dated 2026-03-01, after the as-at date 2026-02-15',
      },
      {
        key: 'health/people/dt=2026-01-01/people.csv',
        why: 'superseded_snapshot',
        detail: 'replaced by the 2026-02-01 extract of this snapshot feed',
      },
    ]);
    const episodes = await validateStage(t.ctx('2026-02-15'), { source: 'social_care', feed: 'episodes' });
    expect(episodes.files.map((f) => f.key)).toEqual([
      'social_care/episodes/dt=2026-01-01/episodes.csv',
      'social_care/episodes/dt=2026-02-01/episodes.csv',
    ]);
    expect(episodes.counts).toMatchObject({ rows: 2, accepted: 2, filesIgnored: 1 });
  });

  it('rejects files that cannot be read as their feed, naming file and problem, and goes on with the others', async () => {
    await t.put(
      'police/people/dt=2026-01-10/a-good.csv',
      'person_ref,forename,surname,date_of_birth,sex,postcode,address_line_1\nP1,A,B,,,,\n',
    );
    await t.put(
      'police/people/dt=2026-01-10/b-missing-col.csv',
      'person_ref,forename,surname,sex,postcode,address_line_1\nP1,A,B,,,\n',
    );
    await t.put(
      'police/people/dt=2026-01-10/c-latin1.csv',
      Buffer.concat([
        Buffer.from('person_ref,forename,surname,date_of_birth,sex,postcode,address_line_1\nP2,'),
        Buffer.from([0xc9]),
        Buffer.from('lise,B,,,,\n'),
      ]),
    );
    await t.put('police/people/dt=2026-01-10/d.xlsx', Buffer.from([0x50, 0x4b, 3, 4, 0, 0]));
    await t.put('police/people/dt=2026-01-10/e-empty.csv', '');
    await t.put(
      'police/people/dt=2026-01-10/f-semicolon.csv',
      'person_ref;forename;surname;date_of_birth;sex;postcode;address_line_1\nP1;A;B;;;;\n',
    );
    await t.put('police/people/stray.csv', 'x\n');
    const res = await validateStage(t.ctx('2026-01-15'), { source: 'police', feed: 'people' });
    const byName = Object.fromEntries(res.files.map((f) => [f.key.split('/').pop(), f]));
    expect(byName['a-good.csv']).toMatchObject({ status: 'accepted', rows: 1, accepted: 1 });
    expect(byName['b-missing-col.csv']).toMatchObject({
      status: 'rejected',
      rows: 1,
      rejectedRows: 1,
      accepted: 0,
      quarantined: 0,
      error:
        'police/people/dt=2026-01-10/b-missing-col.csv: not a police/people file: required column(s) missing from the header: date_of_birth',
    });
    expect(byName['c-latin1.csv']!.error).toBe(
      'police/people/dt=2026-01-10/c-latin1.csv: not UTF-8: invalid byte sequence at line 2 (byte offset 73)',
    );
    expect(byName['d.xlsx']!.error).toMatch(/d.xlsx: not a .csv file/);
    expect(byName['e-empty.csv']!.error).toMatch(/e-empty.csv: empty file: no header row/);
    expect(byName['f-semicolon.csv']!.error).toMatch(/header looks delimited by ";", not commas: not CSV/);
    expect(byName['stray.csv']!.error).toMatch(/police\/people\/stray.csv: not in a dt=<YYYY-MM-DD> extract folder/);
    for (const f of res.files) expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(res.counts).toMatchObject({ files: 7, filesRejected: 6, accepted: 1, quarantined: 0 });
    // rows of rejected files are counted (b-missing-col 1, c-latin1 1, f-semicolon 1, stray 0, e-empty 0, d.xlsx 0)
    expect(res.counts).toMatchObject({ rows: 4, rejectedRows: 3 });
    await expect(
      validateStage(t.ctx('2026-01-15', { validate: { exactDuplicates: 'quarantine', onRejectedFile: 'fail' } }), {
        source: 'police',
        feed: 'people',
      }),
    ).rejects.toThrow(/6 file\(s\) rejected/);
  });

  it('rejects every file of an unknown feed', async () => {
    await t.put('health/dental/dt=2026-01-10/x.csv', 'a\n1\n');
    await t.put('health/dental/dt=2026-02-10/x.csv', 'a\n1\n'); // after the as-at date: ignored, not rejected
    const res = await validateStage(t.ctx('2026-01-15'), { source: 'health', feed: 'dental' });
    expect(res.files).toHaveLength(1);
    expect(res.counts.filesIgnored).toBe(1);
    expect(res.files[0]!.error).toBe(
      'health/dental/dt=2026-01-10/x.csv: unknown feed health/dental (source health has no feed "dental"; see docs/feeds)',
    );
    expect(res.counts.filesRejected).toBe(1);
  });

  it('reads optional-column-free extra columns past, recording them, and never carries them forward', async () => {
    await t.put(
      'police/people/dt=2026-01-10/p.csv',
      'person_ref,nhs_number,forename,surname,date_of_birth,sex,postcode,address_line_1\nP1,9434765919,A,B,,,,\n',
    );
    const res = await validateStage(t.ctx('2026-01-15'), { source: 'police', feed: 'people' });
    expect(res.files[0]).toMatchObject({ status: 'accepted', accepted: 1, ignoredColumns: ['nhs_number'] });
    const rows = await readParquet(t.stores.secure, res.files[0]!.acceptedKey!);
    expect(Object.keys(rows[0]!)).toEqual([
      '_line',
      'person_ref',
      'forename',
      'surname',
      'date_of_birth',
      'sex',
      'postcode',
      'address_line_1',
      '_row_hash',
    ]);
  });

  it('is idempotent: a re-run writes byte-identical outputs and removes stale ones', async () => {
    await t.put(
      'police/people/dt=2026-01-10/p.csv',
      'person_ref,forename,surname,date_of_birth,sex,postcode,address_line_1\nP1,A,B,,,,\nP2,A,B,2030-01-01,,,\n',
    );
    const a = await validateStage(t.ctx('2026-01-15'), { source: 'police', feed: 'people' });
    const pa = await t.stores.secure.get(a.files[0]!.acceptedKey!);
    const qa = await t.stores.secure.get(a.files[0]!.quarantineKey!);
    const b = await validateStage(t.ctx('2026-01-15'), { source: 'police', feed: 'people' });
    expect(b).toEqual(a);
    expect((await t.stores.secure.get(b.files[0]!.acceptedKey!)).equals(pa)).toBe(true);
    expect((await t.stores.secure.get(b.files[0]!.quarantineKey!)).equals(qa)).toBe(true);
    expect((await quarantine(b.files[0]!.quarantineKey!))[0]).toMatchObject({
      line: 3,
      field: 'date_of_birth',
      reason: 'date_after_extract',
    });
  });

  it('discovers feeds with extracts on or before the as-at date', async () => {
    await t.put('health/people/dt=2026-01-10/p.csv', 'x');
    await t.put('police/people/dt=2026-03-10/p.csv', 'x');
    await t.put('health/dental/dt=2026-01-10/p.csv', 'x');
    expect(await discoverFeeds(t.ctx('2026-02-01'))).toEqual([
      { source: 'health', feed: 'dental' },
      { source: 'health', feed: 'people' },
    ]);
  });
});
