import { describe, expect, it } from 'vitest';
import { inflateRawSync } from 'node:zlib';
import { toCsv, neutraliseFormula } from '../../pipelines/reports/target-lists/csv.ts';
import { writeXlsx } from '../../pipelines/reports/target-lists/xlsx.ts';
import { renderFullList } from '../../pipelines/reports/target-lists/full-list.ts';
import { parseWardNames } from '../../pipelines/reports/target-lists/wards.ts';
import {
  buildLocalityLists,
  targetRow,
  TARGET_LIST_HEADER,
  type TargetFamily,
} from '../../pipelines/reports/target-lists/build.ts';
import { renderTargetListIndex } from '../../pipelines/reports/target-lists/html.ts';
import { findExternalReferences } from '../../pipelines/reports/html/index.ts';
import { defaultRuleSet } from '../../models/rules/supporting-families.ts';

/** Reads a zip's entries (what Excel does first), independently of the writer. */
function unzip(buf: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  expect(eocd).toBeGreaterThan(0);
  const n = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  for (let i = 0; i < n; i++) {
    expect(buf.readUInt32LE(p)).toBe(0x02014b50);
    const method = buf.readUInt16LE(p + 10);
    const csize = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    const lNameLen = buf.readUInt16LE(local + 26);
    const lExtra = buf.readUInt16LE(local + 28);
    const data = buf.subarray(local + 30 + lNameLen + lExtra, local + 30 + lNameLen + lExtra + csize);
    out.set(name, (method === 8 ? inflateRawSync(data) : data).toString('utf8'));
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

const fam = (id: string, score: number, opts: Partial<TargetFamily> = {}): TargetFamily => ({
  familyId: id,
  locality: 'North',
  wardCode: 'E05011352',
  score,
  tier: score >= 8 ? 'high' : score >= 5 ? 'medium' : score >= 2 ? 'low' : null,
  headlines: ['education'],
  threeNeeds: false,
  openToStatutory: false,
  reasons: [
    {
      ruleId: 'SF-EDU-03',
      headline: 'education',
      title: 'Permanent exclusion',
      weight: 3,
      measured: 1,
      threshold: 1,
      comparison: 'at_least',
      personIds: ['P1'],
      evidence: [
        {
          personId: 'P1',
          source: 'schools',
          feed: 'suspensions',
          factType: 'permanent_exclusion',
          date: '2026-02-01',
          endDate: null,
          recordRef: 'S-9',
          value: null,
        },
      ],
    },
  ],
  statutoryEvidence: [],
  members: [
    { personId: 'P1', role: 'child', membership: 'primary', ageBand: '11-15' },
    { personId: 'P2', role: 'parent', membership: 'also_in', ageBand: '35-44' },
  ],
  flags: [],
  ruleSetVersion: 'supporting-families@sf-2026.2',
  ...opts,
});

describe('target list CSV', () => {
  it('starts with a UTF-8 BOM, uses CRLF, quotes commas and quotes', () => {
    const buf = toCsv(
      ['a', 'b'],
      [
        ['x,y', 'say "hi"'],
        [1.5, null],
      ],
    );
    expect([...buf.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(buf.subarray(3).toString('utf8')).toBe('a,b\r\n"x,y","say ""hi"""\r\n1.5,\r\n');
  });

  it('neutralises cells that would run as formulas in Excel', () => {
    for (const evil of ['=HYPERLINK("http://x","click")', '+1+1', '-2+3', '@SUM(A1)', '\t=1', '\r=1']) {
      expect(neutraliseFormula(evil).startsWith("'")).toBe(true);
      const text = toCsv(['c'], [[evil]])
        .subarray(3)
        .toString('utf8')
        .split('\r\n')[1]!;
      expect(text.replace(/^"/, '')).toMatch(/^'/);
    }
    expect(neutraliseFormula('F123 child')).toBe('F123 child');
    expect(
      toCsv(['n'], [[-3]])
        .subarray(3)
        .toString('utf8'),
    ).toBe('n\r\n-3\r\n'); // numbers stay numbers
  });
});

describe('target list XLSX', () => {
  it('is a valid zip with a bold frozen header, inline strings, numbers, and neutralised formulas; byte-identical on rewrite', () => {
    const sheets = [
      {
        name: 'Target list',
        header: ['rank', 'family_id', 'reasons'],
        rows: [
          [1, 'Fabc', '=cmd|calc'],
          [2, 'Fdef', 'a & <b>'],
        ],
        widths: [6, 15, 40],
      },
    ];
    const a = writeXlsx(sheets);
    expect(a.equals(writeXlsx(sheets))).toBe(true);
    const files = unzip(a);
    expect([...files.keys()]).toEqual(
      expect.arrayContaining(['[Content_Types].xml', 'xl/workbook.xml', 'xl/worksheets/sheet1.xml', 'xl/styles.xml']),
    );
    const sheet = files.get('xl/worksheets/sheet1.xml')!;
    expect(sheet).toContain('<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>');
    expect(sheet).toContain('<c r="A2" s="2"><v>1</v></c>');
    expect(sheet).toContain("<t>'=cmd|calc</t>");
    expect(sheet).toContain('a &amp; &lt;b&gt;');
    expect(sheet).not.toContain('<f>');
    expect(files.get('xl/styles.xml')).toContain('<b/>');
    expect(files.get('xl/workbook.xml')).toContain('name="Target list"');
    // an autofilter over the header and every row, after the data (schema order), with Excel's hidden filter name
    expect(sheet).toMatch(/<\/sheetData><autoFilter ref="A1:C3"\/><pageMargins/);
    expect(files.get('xl/workbook.xml')).toContain(
      `<definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'Target list'!$A$1:$C$3</definedName>`,
    );
  });

  it('refuses bad sheet names', () => {
    expect(() => writeXlsx([{ name: 'a/b', header: ['x'], rows: [] }])).toThrow(/bad sheet name/);
  });
});

describe('locality lists', () => {
  it('ranks by score, then headlines, then family id; statutory families listed apart, unranked; every configured locality listed', () => {
    const families = [
      fam('F-b', 5),
      fam('F-a', 5),
      fam('F-c', 5, { headlines: ['education', 'health'] }),
      fam('F-top', 9),
      fam('F-stat', 12, { openToStatutory: true }),
      fam('F-low', 1),
      fam('F-s', 6, { locality: 'South' }),
    ];
    const lists = buildLocalityLists(families, ['Central', 'North', 'South']);
    expect(lists.map((l) => l.locality)).toEqual(['Central', 'North', 'South']);
    const north = lists[1]!;
    expect(north.ranked.map((f) => [f.rank, f.familyId])).toEqual([
      [1, 'F-top'],
      [2, 'F-c'],
      [3, 'F-a'],
      [4, 'F-b'],
    ]);
    expect(north.statutory.map((f) => f.familyId)).toEqual(['F-stat']);
    expect(north.notListed).toBe(1);
    expect(lists[0]!.ranked).toEqual([]);
  });

  it('rows say why, with source, feed, date and record ref, and carry no clear identifier', () => {
    const row = targetRow({ ...fam('F-a', 5), rank: 1 });
    expect(row).toHaveLength(TARGET_LIST_HEADER.length);
    expect(row[5]).toBe('SF-EDU-03 Permanent exclusion [+3; 1 >= 1]: schools/suspensions 2026-02-01 ref S-9 (P1)');
    expect(row[6]).toBe('P1 child 11-15; P2 parent (lives elsewhere) 35-44');
  });

  it('the HTML index is self-contained and covers every locality', () => {
    const lists = buildLocalityLists([fam('F-a', 5), fam('F-s', 6, { locality: 'South' })], ['North', 'South']);
    const page = renderTargetListIndex({
      asAt: '2026-06-30',
      ruleSet: defaultRuleSet(),
      tiers: [
        { name: 'high', minScore: 8 },
        { name: 'medium', minScore: 5 },
        { name: 'low', minScore: 2 },
      ],
      lists,
      files: {
        North: { csv: 'North.csv', xlsx: 'North.xlsx', statutoryCsv: 'x.csv' },
        South: { csv: 'South.csv', xlsx: 'South.xlsx', statutoryCsv: 'y.csv' },
      },
    });
    expect(findExternalReferences(page)).toEqual([]);
    expect(page).toContain('North.xlsx');
    expect(page).toContain('South: top 1 of 1');
    expect(page).toContain('SF-EDU-01');
  });

  it('the index links every file, reaches each whole list, and shows ward names beside codes', () => {
    const lists = buildLocalityLists(
      [fam('F-a', 5, { wardCode: 'E05011352' }), fam('F-s', 6, { locality: 'South' })],
      ['North', 'South'],
    );
    const files = {
      North: {
        csv: 'North.csv',
        xlsx: 'North.xlsx',
        statutoryCsv: 'North - open to statutory services.csv',
        html: 'North.html',
      },
      South: { csv: 'South.csv', xlsx: 'South.xlsx', statutoryCsv: 'y.csv', html: 'South.html' },
    };
    const page = renderTargetListIndex({
      asAt: '2026-06-30',
      ruleSet: defaultRuleSet(),
      tiers: [{ name: 'low', minScore: 2 }],
      lists,
      files,
      wards: new Map([['E05011352', 'Ancoats & Beswick']]),
    });
    expect(page).toContain(
      '<a href="North%20-%20open%20to%20statutory%20services.csv">North - open to statutory services.csv</a>',
    );
    expect(page).toContain('<a href="North.xlsx">North.xlsx</a>');
    expect(page).toContain('<a href="North.html">North: all 1 ranked families and 0 open to statutory services</a>');
    expect(page).toContain('Ancoats &amp; Beswick (E05011352)');
    expect(findExternalReferences(page)).toEqual([]);
    const full = renderFullList({ asAt: '2026-06-30', list: lists[0]!, wards: new Map(), files: files.North });
    expect(full).toContain('North: every ranked family');
    expect(full).toContain('F-a');
    expect(full).toContain('E05011352');
    expect(findExternalReferences(full)).toEqual([]);
  });

  it('refuses a ward-names file without its columns, naming the file', () => {
    expect(parseWardNames('WD24CD,WD24NM\nE05011352,Ancoats & Beswick\n', 'w.csv').get('E05011352')).toBe(
      'Ancoats & Beswick',
    );
    expect(() => parseWardNames('code,label\nE1,x\n', 'w.csv')).toThrow(/ward names w.csv: needs a ward_code/);
  });
});
