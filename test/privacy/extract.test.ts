import { describe, expect, it } from 'vitest';
import { decodeEntities, unitsOfBuffer } from '../../pipelines/privacy/extract.ts';

const units = (key: string, text: string) =>
  [...unitsOfBuffer(key, Buffer.from(text))].map((u) => `${u.position}|${u.location}|${u.text}`);

describe('privacy scan: text units', () => {
  it('HTML: cells, row headers, chart labels and list items are data; headings, captions and prose are template; scripts and styles skipped', () => {
    const got = units(
      'r.html',
      `<html><head><title>T</title><style>td{x:y}</style><script>var a="Zed"</script></head><body>
<h2>Ward</h2><table><caption>Cap</caption><thead><tr><th scope="col">Name</th></tr></thead><tbody><tr><th scope="row">Row&amp;1</th><td>Cell <b>bold</b></td></tr></tbody></table>
<svg><text x="1">Label</text><title>Tip</title></svg><ul><li>Item</li></ul><p title="Attr">Prose</p><!-- <td>Hidden</td> --></body></html>`,
    );
    expect(got).toEqual([
      'template|line 1 <title>|T',
      'template|line 2 <h2>|Ward',
      'template|line 2 <caption>|Cap',
      'template|line 2 <th>|Name',
      'data|line 2 <th>|Row&1',
      'data|line 2 <td>|Cell',
      'data|line 2 <b>|bold',
      'data|line 3 <text>|Label',
      'template|line 3 <title>|Tip',
      'data|line 3 <li>|Item',
      'template|line 3 <p title>|Attr',
      'template|line 3 <p>|Prose',
    ]);
  });

  it('JSON: every string value with its path and key; CSV: header as template, cells as data with row and column', () => {
    expect(units('a.json', JSON.stringify({ a: [{ 'b-c': 'x' }, 3, 'y'] }))).toEqual([
      'data|$.a[0]["b-c"]|x',
      'data|$.a[2]|y',
    ]);
    expect(units('a.csv', 'id,name\n1,"Smith, J"\n')).toEqual([
      'template|line 1 (header), column 1|id',
      'template|line 1 (header), column 2|name',
      'data|row 1 (line 2), column id|1',
      'data|row 1 (line 2), column name|Smith, J',
    ]);
  });

  it('HTML: text joined by <wbr> (a line-break opportunity) is one text; other tags still separate', () => {
    expect(
      units('r.html', '<table><tr><td>children_<wbr>safe, early_<wbr>years</td><td>a<b>b</b></td></tr></table>'),
    ).toEqual(['data|line 1 <td>|children_safe, early_years', 'data|line 1 <td>|a', 'data|line 1 <b>|b']);
  });

  it('decodes entities', () => {
    expect(decodeEntities('&lt;a&gt; &amp; &#39;b&#x27; &quot;c&quot;&nbsp;')).toBe('<a> & \'b\' "c" ');
  });
});
