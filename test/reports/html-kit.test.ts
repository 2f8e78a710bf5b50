import { describe, expect, it } from 'vitest';
import {
  barChart,
  breakable,
  escapeHtml,
  findExternalReferences,
  formatDate,
  formatDecimal,
  formatInt,
  formatPercent,
  formatProbability,
  formatSigned,
  histogram,
  histogramBins,
  html,
  lineChart,
  niceTicks,
  notice,
  raw,
  renderPage,
  stackedBarChart,
  table,
  waterfallChart,
} from '../../pipelines/reports/html/index.ts';

describe('report kit: escaping', () => {
  it('escapes interpolated text, trusts only kit-built fragments', () => {
    const evil = '<script>alert("x")</script>&\'';
    const out = html`<p title="${evil}">${evil}</p>${raw('<b>ok</b>')}`.value;
    expect(out).not.toContain('<script>');
    expect(out).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;');
    expect(out).toContain('<b>ok</b>');
    expect(escapeHtml('a<b')).toBe('a&lt;b');
  });

  it('joins arrays and drops null/undefined/false', () => {
    expect(html`<ul>${['a<', 'b'].map((x) => html`<li>${x}</li>`)}</ul>${null}${undefined}${false}`.value).toBe(
      '<ul><li>a&lt;</li><li>b</li></ul>',
    );
  });

  it('escapes data in table cells and captions', () => {
    const out = table({
      caption: 'Localities <x>',
      columns: [
        { label: 'name', key: 'name' },
        { label: 'n', key: 'n', kind: 'num' },
      ],
      rows: [{ name: '<img src=x>', n: 12345 }],
    }).value;
    expect(out).toContain('&lt;img src=x&gt;');
    expect(out).toContain('12,345');
    expect(out).toContain('<th scope="col"');
    expect(out).toContain('<th scope="row"');
    expect(out).toContain('<caption');
    expect(findExternalReferences(out)).toEqual([]);
  });

  it('long codes get line-break opportunities at their parts, still escaped, and a wrap column keeps them as markup', () => {
    expect(breakable('has_members_living_elsewhere, a/b<c').value).toBe(
      'has_<wbr>members_<wbr>living_<wbr>elsewhere, a/<wbr>b&lt;c',
    );
    const out = table({
      caption: 'Flags',
      rowHeader: false,
      columns: [{ label: 'flags', key: 'f', kind: 'wrap' }],
      rows: [{ f: breakable('members_at_several_addresses') }],
    }).value;
    expect(out).toContain('<td class="wrap">members_<wbr>at_<wbr>several_<wbr>addresses</td>');
  });
});

describe('report kit: number formatting', () => {
  it('formats deterministically, en-GB style', () => {
    expect(formatInt(1234567)).toBe('1,234,567');
    expect(formatInt(-1234.6)).toBe('-1,235');
    expect(formatInt(Number.NaN)).toBe('–');
    expect(formatDecimal(1234.5678, 2)).toBe('1,234.57');
    expect(formatDecimal(-0.001, 2)).toBe('0.00');
    expect(formatPercent(0.1234)).toBe('12.3%');
    expect(formatPercent(null)).toBe('–');
    expect(formatSigned(3.2)).toBe('+3.20');
    expect(formatSigned(-1)).toBe('-1.00');
    expect(formatSigned(0)).toBe('0.00');
    expect(formatProbability(0.00001234)).toBe('1.23e-5');
    expect(formatProbability(0.95)).toBe('0.9500');
    expect(formatDate('2026-03-31')).toBe('31 Mar 2026');
  });

  it('picks nice ticks', () => {
    expect(niceTicks(0, 97, 4)).toEqual([0, 25, 50, 75, 100]);
    expect(niceTicks(-12, 18, 6)).toEqual([-15, -10, -5, 0, 5, 10, 15, 20]);
  });
});

describe('report kit: charts', () => {
  it('bins values, keeping empty bins in between', () => {
    expect(histogramBins([-1.5, 0.2, 0.7, 3.1], 1)).toEqual([
      { from: -2, to: -1, count: 1 },
      { from: -1, to: 0, count: 0 },
      { from: 0, to: 1, count: 2 },
      { from: 1, to: 2, count: 0 },
      { from: 2, to: 3, count: 0 },
      { from: 3, to: 4, count: 1 },
    ]);
    expect(() => histogramBins([1], 0)).toThrow(/width/);
  });

  it('marks the threshold on a histogram and describes it in text', () => {
    const out = histogram({
      title: 'Match weights',
      bins: histogramBins([-5, -4, 1, 6, 7, 8], 2),
      xLabel: 'match weight',
      threshold: { value: 5, label: 'threshold' },
    }).value;
    expect(out).toContain('stroke-dasharray="6 4"');
    expect(out).toMatch(/threshold at 5, 3 at or above it/);
    expect(out).toContain('role="img"');
    expect(out).toContain('<desc id=');
    expect(out).toContain('Show the data');
  });

  it('draws a waterfall whose total is the sum of its steps', () => {
    const out = waterfallChart({
      title: 'Why these two records link',
      start: { label: 'Prior', value: -10 },
      steps: [
        { label: 'Surname exact', value: 8.5 },
        { label: 'DOB transposed', value: 4 },
        { label: 'Postcode different', value: -1.5 },
      ],
      totalLabel: 'Match weight',
    }).value;
    expect(out).toMatch(/Match weight \+1\.00/);
    expect(out).toContain('#d4351c'); // a negative step drawn in red
  });

  it('is deterministic and self-contained', () => {
    const make = () =>
      renderPage({
        title: 'Demo <report>',
        subtitle: 'As at 31 Mar 2026',
        banner: notice('pass', 'PASS', 'No clear identifier found in any published output.'),
        sections: [
          {
            title: 'Bars',
            body: barChart({
              title: 'Records per source',
              data: [
                { label: 'health', value: 1200 },
                { label: 'schools', value: 800 },
              ],
            }),
          },
          {
            title: 'Stacked',
            body: stackedBarChart({
              title: 'Linked vs unlinked',
              categories: ['0-4', '5-10'],
              series: [
                { name: 'linked', values: [80, 50] },
                { name: 'unlinked', values: [20, 50] },
              ],
              percent: true,
            }),
          },
          {
            title: 'Trend',
            body: lineChart({
              title: 'Links by threshold',
              xLabels: ['2', '4', '6'],
              series: [{ name: 'links', values: [300, null, 100] }],
              markX: { index: 1, label: 'threshold' },
            }),
          },
        ],
      });
    const a = make();
    expect(a).toBe(make());
    expect(a.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(a).toContain('Content-Security-Policy');
    expect(a).toContain('Demo &lt;report&gt;');
    expect(findExternalReferences(a)).toEqual([]);
  });

  it('the static check finds what would make a request', () => {
    const refs = findExternalReferences(
      '<img src="https://x/y.png"><a href="#ok">a</a><a href="http://evil">b</a><style>b{background:url(http://t/p.gif)}</style><script src="a.js"></script><img src="data:image/png;base64,AA">',
    );
    expect(refs.map((r) => r.kind)).toEqual([
      'src attribute',
      'href attribute',
      'src attribute',
      'CSS url()',
      '<script> element',
    ]);
  });
});

describe('line charts: every series its own colour, no clipped axis label', () => {
  it('gives eleven series eleven colours and anchors the last x label at its end', () => {
    const series = Array.from({ length: 11 }, (_, i) => ({ name: `s${i}`, values: [i, i + 1, i + 2] }));
    const svg = lineChart({ title: 'eleven lines', xLabels: ['31 Jan 26', '28 Feb 26', '31 Mar 26'], series }).value;
    const strokes = new Set([...svg.matchAll(/<polyline [^>]*stroke="(#[0-9a-f]{6})"/g)].map((m) => m[1]));
    expect(strokes.size).toBe(11);
    expect(svg).toMatch(/text-anchor="end"[^>]*>31 Mar 26<\/text>/);
  });
});
