/**
 * Inline SVG charts for self-contained reports: bar, stacked bar, histogram (with a marked threshold),
 * line (trends) and waterfall (a link's explanation). Each chart is a <figure> with a caption, an SVG
 * with role="img" and a text description, and a "Show the data" table, so it reads without sight and
 * prints. Output is deterministic (no random ids, fixed number formatting).
 */
import { formatDecimal, formatInt, formatSigned } from './format.ts';
import { html, join, shortHash, slug, type HtmlValue, type SafeHtml } from './safe.ts';
import { table } from './table.ts';

/** Colour-blind-safe palette (GOV.UK / Okabe-Ito inspired); series cycle through it. */
/** Twelve distinct colours: a chart with up to twelve series gives each its own (no two lines share a colour). */
export const PALETTE = [
  '#1d70b8',
  '#f47738',
  '#00703c',
  '#912b88',
  '#d4351c',
  '#5694ca',
  '#85994b',
  '#6f72af',
  '#b58840',
  '#505a5f',
  '#28a197',
  '#d53880',
];
const POSITIVE = '#00703c';
const NEGATIVE = '#d4351c';
const TOTAL = '#0b0c0c';
const AXIS = '#505a5f';
const GRID = '#dcdcdc';
const FONT = 12;
const CHAR_W = 6.6; // approximate width of one character at 12px

type Fmt = (n: number) => string;
const defaultFmt: Fmt = (n) => (Number.isInteger(n) ? formatInt(n) : formatDecimal(n, 2));

/** Round a coordinate to 0.1 px so the SVG text is stable and compact. */
function r(n: number): string {
  const v = Math.round(n * 10) / 10;
  return Object.is(v, -0) ? '0' : String(v);
}

function truncate(label: string, max: number): string {
  return label.length <= max ? label : `${label.slice(0, Math.max(1, max - 1))}…`;
}

/** "Nice" axis ticks from lo to hi (about `count` of them). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) hi = lo + 1;
  const span = hi - lo;
  const raw0 = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw0));
  const norm = raw0 / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
  const start = Math.floor(lo / step) * step;
  const end = Math.ceil(hi / step) * step;
  const ticks: number[] = [];
  for (let v = start; v <= end + step / 1e6; v += step) ticks.push(Math.round(v / step) * step);
  return ticks.map((t) => Number(t.toPrecision(12)));
}

interface FigureParts {
  title: string;
  description: string;
  svg: (ids: { title: string; desc: string }) => SafeHtml;
  legend?: Array<{ name: string; colour: string; dashed?: boolean }>;
  data?: SafeHtml;
  note?: HtmlValue;
}

function figure(p: FigureParts): SafeHtml {
  const base = `c-${slug(p.title)}-${shortHash(p.title + p.description)}`;
  const ids = { title: `${base}-t`, desc: `${base}-d` };
  return html`<figure class="chart" id="${base}">
<figcaption id="${ids.title}">${p.title}</figcaption>
${p.legend && p.legend.length > 0 ? html`<div class="legend" aria-hidden="true">${p.legend.map((l) => html`<span><span class="key" style="background:${l.dashed ? '#fff' : l.colour};${l.dashed ? `border:2px dashed ${l.colour}` : ''}"></span>${l.name}</span>`)}</div>` : ''}
${p.svg(ids)}
${p.note ? html`<p class="muted">${p.note}</p>` : ''}
${p.data ? html`<details><summary>Show the data</summary>${p.data}</details>` : ''}
</figure>
`;
}

function svgOpen(w: number, h: number, ids: { title: string; desc: string }, description: string): SafeHtml {
  return html`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${r(h)}" width="${w}" height="${r(h)}" role="img" aria-labelledby="${ids.title} ${ids.desc}" font-size="${FONT}"><desc id="${ids.desc}">${description}</desc>`;
}

// ---------------------------------------------------------------- bar

export interface BarDatum {
  label: string;
  value: number;
  /** Override the bar's colour. */
  colour?: string;
}

export interface BarChartOptions {
  title: string;
  data: BarDatum[];
  /** What the values are, e.g. "records". Used in the description and the data table. */
  valueLabel?: string;
  format?: Fmt;
  /** Fix the scale maximum (e.g. 1 for rates). */
  max?: number;
  note?: HtmlValue;
}

/** Horizontal bars (labels on the left stay readable however long they are). */
export function barChart(o: BarChartOptions): SafeHtml {
  const fmt = o.format ?? defaultFmt;
  const W = 640;
  const labelChars = Math.min(28, Math.max(4, ...o.data.map((d) => d.label.length)));
  const left = Math.round(labelChars * CHAR_W) + 12;
  const right = 70;
  const barH = 20;
  const gap = 8;
  const top = 8;
  const axisH = 24;
  const h = top + o.data.length * (barH + gap) + axisH;
  const max = o.max ?? Math.max(0, ...o.data.map((d) => d.value));
  const ticks = niceTicks(0, max > 0 ? max : 1, 4);
  const scaleMax = o.max ?? ticks[ticks.length - 1] ?? 1;
  const x = (v: number) => left + (Math.max(0, v) / scaleMax) * (W - left - right);
  const plotBottom = top + o.data.length * (barH + gap);
  const valueLabel = o.valueLabel ?? 'value';
  const description = `Bar chart of ${valueLabel} by category: ${o.data.map((d) => `${d.label} ${fmt(d.value)}`).join('; ')}.`;
  return figure({
    title: o.title,
    description,
    note: o.note,
    svg: (ids) => html`${svgOpen(W, h, ids, description)}
${ticks.filter((t) => t <= scaleMax).map((t) => html`<line x1="${r(x(t))}" x2="${r(x(t))}" y1="${top}" y2="${r(plotBottom)}" stroke="${GRID}"/><text x="${r(x(t))}" y="${r(plotBottom + 16)}" text-anchor="middle" fill="${AXIS}">${fmt(t)}</text>`)}
${o.data.map((d, i) => {
  const y = top + i * (barH + gap);
  const wBar = Math.max(0, x(d.value) - left);
  return html`<g><title>${d.label}: ${fmt(d.value)}</title><text x="${left - 6}" y="${r(y + barH / 2 + 4)}" text-anchor="end" fill="#0b0c0c">${truncate(d.label, labelChars)}</text><rect x="${left}" y="${r(y)}" width="${r(wBar)}" height="${barH}" fill="${d.colour ?? PALETTE[0]}"/><text x="${r(left + wBar + 4)}" y="${r(y + barH / 2 + 4)}" fill="#0b0c0c">${fmt(d.value)}</text></g>`;
})}
<line x1="${left}" x2="${left}" y1="${top}" y2="${r(plotBottom)}" stroke="${AXIS}"/>
</svg>`,
    data: table({
      caption: o.title,
      columns: [
        { label: 'Category', key: 'label' },
        { label: valueLabel, kind: 'num', cell: (d: BarDatum) => fmt(d.value) },
      ],
      rows: o.data,
      className: 'compact',
    }),
  });
}

// ---------------------------------------------------------------- stacked bar

export interface StackedBarOptions {
  title: string;
  /** One bar per category (row). */
  categories: string[];
  /** Each series has one value per category, stacked in this order. */
  series: Array<{ name: string; values: number[]; colour?: string }>;
  /** Show each bar as shares of its total (100%). */
  percent?: boolean;
  valueLabel?: string;
  format?: Fmt;
  note?: HtmlValue;
}

export function stackedBarChart(o: StackedBarOptions): SafeHtml {
  const fmt = o.format ?? defaultFmt;
  const W = 640;
  const labelChars = Math.min(28, Math.max(4, ...o.categories.map((c) => c.length)));
  const left = Math.round(labelChars * CHAR_W) + 12;
  const right = 70;
  const barH = 20;
  const gap = 8;
  const top = 8;
  const plotBottom = top + o.categories.length * (barH + gap);
  const h = plotBottom + 24;
  const totals = o.categories.map((_, i) => o.series.reduce((s, se) => s + (se.values[i] ?? 0), 0));
  const maxTotal = Math.max(1, ...totals);
  const ticks = o.percent ? [0, 0.25, 0.5, 0.75, 1] : niceTicks(0, maxTotal, 4);
  const scaleMax = o.percent ? 1 : (ticks[ticks.length - 1] ?? maxTotal);
  const x = (v: number) => left + (v / scaleMax) * (W - left - right);
  const colour = (i: number) => o.series[i]?.colour ?? PALETTE[i % PALETTE.length] ?? '#000';
  const tickFmt = o.percent ? (t: number) => `${Math.round(t * 100)}%` : fmt;
  const valueLabel = o.valueLabel ?? 'value';
  const description = `Stacked bar chart${o.percent ? ' (shares of each bar)' : ''} of ${valueLabel}: ${o.categories.map((c, i) => `${c}: ${o.series.map((s) => `${s.name} ${fmt(s.values[i] ?? 0)}`).join(', ')}`).join('; ')}.`;
  const rows = o.categories.map((c, i) => ({ c, vals: o.series.map((s) => s.values[i] ?? 0), total: totals[i] ?? 0 }));
  return figure({
    title: o.title,
    description,
    note: o.note,
    legend: o.series.map((s, i) => ({ name: s.name, colour: colour(i) })),
    svg: (ids) => html`${svgOpen(W, h, ids, description)}
${ticks.map((t) => html`<line x1="${r(x(t))}" x2="${r(x(t))}" y1="${top}" y2="${r(plotBottom)}" stroke="${GRID}"/><text x="${r(x(t))}" y="${r(plotBottom + 16)}" text-anchor="middle" fill="${AXIS}">${tickFmt(t)}</text>`)}
${rows.map((row, i) => {
  const y = top + i * (barH + gap);
  let acc = 0;
  const denom = o.percent ? row.total || 1 : 1;
  const segs = row.vals.map((v, si) => {
    const x0 = x(acc / denom);
    acc += v;
    const x1 = x(acc / denom);
    const name = o.series[si]?.name ?? '';
    const share = row.total > 0 ? ` (${formatDecimal((100 * v) / row.total, 1)}%)` : '';
    return v > 0
      ? html`<rect x="${r(x0)}" y="${r(y)}" width="${r(Math.max(0, x1 - x0))}" height="${barH}" fill="${colour(si)}"><title>${row.c}, ${name}: ${fmt(v)}${share}</title></rect>`
      : '';
  });
  return html`<g><text x="${left - 6}" y="${r(y + barH / 2 + 4)}" text-anchor="end" fill="#0b0c0c"><title>${row.c}</title>${truncate(row.c, labelChars)}</text>${segs}<text x="${r((o.percent ? x(1) : x(row.total)) + 4)}" y="${r(y + barH / 2 + 4)}" fill="#0b0c0c">${fmt(row.total)}</text></g>`;
})}
<line x1="${left}" x2="${left}" y1="${top}" y2="${r(plotBottom)}" stroke="${AXIS}"/>
</svg>`,
    data: table({
      caption: o.title,
      columns: [
        { label: 'Category', cell: (row: (typeof rows)[number]) => row.c },
        ...o.series.map((s, si) => ({
          label: s.name,
          kind: 'num' as const,
          cell: (row: (typeof rows)[number]) => fmt(row.vals[si] ?? 0),
        })),
        { label: 'Total', kind: 'num' as const, cell: (row: (typeof rows)[number]) => fmt(row.total) },
      ],
      rows,
      className: 'compact',
    }),
  });
}

// ---------------------------------------------------------------- histogram

export interface HistogramBin {
  from: number;
  to: number;
  count: number;
}

/** Bin values into fixed-width bins aligned to multiples of `width`; empty bins in between are kept. */
export function histogramBins(
  values: Iterable<number>,
  width: number,
  range?: { min?: number; max?: number },
): HistogramBin[] {
  if (!(width > 0)) throw new Error(`histogramBins: width must be > 0 (got ${width})`);
  const counts = new Map<number, number>();
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    let b = Math.floor(v / width);
    if (range?.min !== undefined) b = Math.max(b, Math.floor(range.min / width));
    if (range?.max !== undefined) b = Math.min(b, Math.floor(range.max / width) - (range.max % width === 0 ? 1 : 0));
    counts.set(b, (counts.get(b) ?? 0) + 1);
    lo = Math.min(lo, b);
    hi = Math.max(hi, b);
  }
  if (lo === Infinity) return [];
  const bins: HistogramBin[] = [];
  for (let b = lo; b <= hi; b++)
    bins.push({
      from: Number((b * width).toPrecision(12)),
      to: Number(((b + 1) * width).toPrecision(12)),
      count: counts.get(b) ?? 0,
    });
  return bins;
}

export interface HistogramOptions {
  title: string;
  bins: HistogramBin[];
  xLabel: string;
  yLabel?: string;
  /** A vertical marker, e.g. the match threshold; bins at or above it are coloured differently. */
  threshold?: { value: number; label: string };
  /** log10(1 + count) heights: for skewed counts (many weak pairs, few strong). */
  logScale?: boolean;
  format?: Fmt;
  note?: HtmlValue;
}

export function histogram(o: HistogramOptions): SafeHtml {
  const W = 640;
  const H = 280;
  const left = 56;
  const right = 16;
  const top = 22;
  const bottom = 44;
  const fmt = o.format ?? defaultFmt;
  const bins = o.bins;
  const xMin = Math.min(...bins.map((b) => b.from), o.threshold?.value ?? Infinity);
  const xMax = Math.max(...bins.map((b) => b.to), o.threshold?.value ?? -Infinity);
  const lo = bins.length ? xMin : 0;
  const hi = bins.length ? xMax : 1;
  const xTicks = niceTicks(lo, hi, 8).filter((t) => t >= lo - 1e-9 && t <= hi + 1e-9);
  const x = (v: number) => left + ((v - lo) / (hi - lo || 1)) * (W - left - right);
  const tf = (c: number) => (o.logScale ? Math.log10(1 + c) : c);
  const maxC = Math.max(1, ...bins.map((b) => b.count));
  const yTicksRaw = o.logScale
    ? [0, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000].filter((t) => t <= maxC * 10).slice(0, 8)
    : niceTicks(0, maxC, 4);
  const yTop = o.logScale ? tf(yTicksRaw[yTicksRaw.length - 1] ?? maxC) : (yTicksRaw[yTicksRaw.length - 1] ?? maxC);
  const y = (c: number) => H - bottom - (tf(c) / (yTop || 1)) * (H - top - bottom);
  const yLabel = o.yLabel ?? 'count';
  const thr = o.threshold;
  const above = thr ? bins.filter((b) => b.from >= thr.value).reduce((s, b) => s + b.count, 0) : 0;
  const total = bins.reduce((s, b) => s + b.count, 0);
  const description = `Histogram of ${o.xLabel}, ${formatInt(total)} in all, from ${fmt(lo)} to ${fmt(hi)}${thr ? `; ${thr.label} at ${fmt(thr.value)}, ${formatInt(above)} at or above it` : ''}${o.logScale ? '; bar heights on a logarithmic scale' : ''}.`;
  return figure({
    title: o.title,
    description,
    note: o.note,
    legend: thr
      ? [
          { name: `below ${thr.label}`, colour: PALETTE[5] ?? '#5694ca' },
          { name: `at or above ${thr.label}`, colour: PALETTE[0] ?? '#1d70b8' },
          { name: thr.label, colour: NEGATIVE, dashed: true },
        ]
      : undefined,
    svg: (ids) => html`${svgOpen(W, H, ids, description)}
${yTicksRaw.map((t) => html`<line x1="${left}" x2="${W - right}" y1="${r(y(t))}" y2="${r(y(t))}" stroke="${GRID}"/><text x="${left - 6}" y="${r(y(t) + 4)}" text-anchor="end" fill="${AXIS}">${formatInt(t)}</text>`)}
${bins.map((b) => {
  const x0 = x(b.from);
  const x1 = x(b.to);
  const colour = thr && b.from < thr.value ? PALETTE[5] : PALETTE[0];
  return b.count > 0
    ? html`<rect x="${r(x0 + 0.5)}" y="${r(y(b.count))}" width="${r(Math.max(0.5, x1 - x0 - 1))}" height="${r(H - bottom - y(b.count))}" fill="${colour}"><title>${fmt(b.from)} to ${fmt(b.to)}: ${formatInt(b.count)}</title></rect>`
    : '';
})}
<line x1="${left}" x2="${W - right}" y1="${H - bottom}" y2="${H - bottom}" stroke="${AXIS}"/>
<line x1="${left}" x2="${left}" y1="${top}" y2="${H - bottom}" stroke="${AXIS}"/>
${xTicks.map((t) => html`<line x1="${r(x(t))}" x2="${r(x(t))}" y1="${H - bottom}" y2="${H - bottom + 4}" stroke="${AXIS}"/><text x="${r(x(t))}" y="${H - bottom + 16}" text-anchor="middle" fill="${AXIS}">${fmt(t)}</text>`)}
<text x="${r((left + W - right) / 2)}" y="${H - 6}" text-anchor="middle" fill="#0b0c0c">${o.xLabel}</text>
<text x="12" y="${r((top + H - bottom) / 2)}" text-anchor="middle" fill="#0b0c0c" transform="rotate(-90 12 ${r((top + H - bottom) / 2)})">${yLabel}${o.logScale ? ' (log scale)' : ''}</text>
${thr ? html`<line x1="${r(x(thr.value))}" x2="${r(x(thr.value))}" y1="${top - 6}" y2="${H - bottom}" stroke="${NEGATIVE}" stroke-width="2" stroke-dasharray="6 4"/><text x="${r(x(thr.value) + 4)}" y="${top + 2}" fill="${NEGATIVE}" font-weight="600" text-anchor="${x(thr.value) > W - 170 ? 'end' : 'start'}" dx="${x(thr.value) > W - 170 ? -8 : 0}">${thr.label} ${fmt(thr.value)}</text>` : ''}
</svg>`,
    data: table({
      caption: o.title,
      columns: [
        { label: `${o.xLabel} from`, kind: 'num', cell: (b: HistogramBin) => fmt(b.from) },
        { label: 'to (excl.)', kind: 'num', cell: (b: HistogramBin) => fmt(b.to) },
        { label: yLabel, kind: 'num', cell: (b: HistogramBin) => formatInt(b.count) },
      ],
      rows: bins,
      className: 'compact',
    }),
  });
}

// ---------------------------------------------------------------- line

export interface LineChartOptions {
  title: string;
  /** Category labels along the x axis, in order (months, run dates, thresholds...). */
  xLabels: string[];
  series: Array<{ name: string; values: Array<number | null>; colour?: string }>;
  xLabel?: string;
  yLabel?: string;
  format?: Fmt;
  /** Fix the y range (e.g. 0..1 for rates); default 0..nice max. */
  yMin?: number;
  yMax?: number;
  /** A vertical marker at one x position, e.g. the chosen threshold. */
  markX?: { index: number; label: string };
  note?: HtmlValue;
}

export function lineChart(o: LineChartOptions): SafeHtml {
  const W = 640;
  const H = 280;
  const left = 64;
  const right = 20;
  const top = 22;
  const bottom = o.xLabel ? 50 : 34;
  const fmt = o.format ?? defaultFmt;
  const all = o.series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const dataMin = Math.min(0, ...all);
  const dataMax = Math.max(1e-9, ...all);
  const ticks = niceTicks(o.yMin ?? dataMin, o.yMax ?? dataMax, 4);
  const y0 = o.yMin ?? ticks[0] ?? 0;
  const y1 = o.yMax ?? ticks[ticks.length - 1] ?? 1;
  const n = o.xLabels.length;
  const x = (i: number) => left + (n <= 1 ? (W - left - right) / 2 : (i / (n - 1)) * (W - left - right));
  const y = (v: number) => H - bottom - ((v - y0) / (y1 - y0 || 1)) * (H - top - bottom);
  const colour = (i: number) => o.series[i]?.colour ?? PALETTE[i % PALETTE.length] ?? '#000';
  const every = Math.max(1, Math.ceil(n / 12));
  const description = `Line chart${o.yLabel ? ` of ${o.yLabel}` : ''} over ${o.xLabel ?? 'the categories'} ${o.xLabels[0] ?? ''} to ${o.xLabels[n - 1] ?? ''}: ${o.series.map((s) => `${s.name}: ${s.values.map((v, i) => `${o.xLabels[i]} ${v === null ? 'no value' : fmt(v)}`).join(', ')}`).join('; ')}.`;
  const rows = o.xLabels.map((label, i) => ({ label, vals: o.series.map((s) => s.values[i] ?? null) }));
  return figure({
    title: o.title,
    description,
    note: o.note,
    legend:
      o.series.length > 1 || o.markX
        ? [
            ...o.series.map((s, i) => ({ name: s.name, colour: colour(i) })),
            ...(o.markX ? [{ name: o.markX.label, colour: NEGATIVE, dashed: true }] : []),
          ]
        : undefined,
    svg: (ids) => html`${svgOpen(W, H, ids, description)}
${ticks.filter((t) => t >= y0 && t <= y1).map((t) => html`<line x1="${left}" x2="${W - right}" y1="${r(y(t))}" y2="${r(y(t))}" stroke="${GRID}"/><text x="${left - 6}" y="${r(y(t) + 4)}" text-anchor="end" fill="${AXIS}">${fmt(t)}</text>`)}
<line x1="${left}" x2="${W - right}" y1="${H - bottom}" y2="${H - bottom}" stroke="${AXIS}"/>
${o.xLabels.map((l, i) => (i % every === 0 || i === n - 1 ? html`<text x="${r(x(i))}" y="${H - bottom + 16}" text-anchor="${n > 1 && i === n - 1 ? 'end' : n > 1 && i === 0 ? 'start' : 'middle'}" fill="${AXIS}">${truncate(l, 10)}</text>` : ''))}
${o.xLabel ? html`<text x="${r((left + W - right) / 2)}" y="${H - 8}" text-anchor="middle" fill="#0b0c0c">${o.xLabel}</text>` : ''}
${o.yLabel ? html`<text x="12" y="${r((top + H - bottom) / 2)}" text-anchor="middle" fill="#0b0c0c" transform="rotate(-90 12 ${r((top + H - bottom) / 2)})">${o.yLabel}</text>` : ''}
${o.markX && o.markX.index >= 0 && o.markX.index < n ? html`<line x1="${r(x(o.markX.index))}" x2="${r(x(o.markX.index))}" y1="${top - 6}" y2="${H - bottom}" stroke="${NEGATIVE}" stroke-width="2" stroke-dasharray="6 4"/><text x="${r(x(o.markX.index) + 4)}" y="${top + 2}" fill="${NEGATIVE}" font-weight="600">${o.markX.label}</text>` : ''}
${o.series.map((s, si) => {
  // Break the line at missing values.
  const segments: string[] = [];
  let cur: string[] = [];
  s.values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) {
      if (cur.length) segments.push(cur.join(' '));
      cur = [];
    } else cur.push(`${r(x(i))},${r(y(v))}`);
  });
  if (cur.length) segments.push(cur.join(' '));
  return html`<g>${segments.map((pts) => html`<polyline points="${pts}" fill="none" stroke="${colour(si)}" stroke-width="2.5"/>`)}${s.values.map((v, i) => (v === null || !Number.isFinite(v) ? '' : html`<circle cx="${r(x(i))}" cy="${r(y(v))}" r="3.5" fill="${colour(si)}"><title>${s.name}, ${o.xLabels[i] ?? ''}: ${fmt(v)}</title></circle>`))}</g>`;
})}
</svg>`,
    data: table({
      caption: o.title,
      columns: [
        { label: o.xLabel ?? 'Category', cell: (row: (typeof rows)[number]) => row.label },
        ...o.series.map((s, si) => ({
          label: s.name,
          kind: 'num' as const,
          cell: (row: (typeof rows)[number]) => {
            const v = row.vals[si];
            return v === null || v === undefined ? '–' : fmt(v);
          },
        })),
      ],
      rows,
      className: 'compact',
    }),
  });
}

// ---------------------------------------------------------------- waterfall

export interface WaterfallOptions {
  title: string;
  /** The starting value, e.g. the prior match weight log2(λ/(1-λ)). */
  start: { label: string; value: number };
  /** Signed contributions in order, e.g. each comparison's log2(m/u). */
  steps: Array<{ label: string; value: number; detail?: string }>;
  /** Label of the final bar (the sum), e.g. "Match weight". */
  totalLabel: string;
  /** A vertical marker, e.g. the threshold. */
  threshold?: { value: number; label: string };
  format?: Fmt;
  note?: HtmlValue;
}

/** Horizontal waterfall: one row per contribution, each bar running from the running total before to after. */
export function waterfallChart(o: WaterfallOptions): SafeHtml {
  const fmt = o.format ?? ((n: number) => formatSigned(n, 2));
  const W = 640;
  type Row = {
    label: string;
    from: number;
    to: number;
    kind: 'start' | 'up' | 'down' | 'total';
    value: number;
    detail?: string;
  };
  const rowsAll: Row[] = [{ label: o.start.label, from: 0, to: o.start.value, kind: 'start', value: o.start.value }];
  let acc = o.start.value;
  for (const s of o.steps) {
    rowsAll.push({
      label: s.label,
      from: acc,
      to: acc + s.value,
      kind: s.value >= 0 ? 'up' : 'down',
      value: s.value,
      detail: s.detail,
    });
    acc += s.value;
  }
  rowsAll.push({ label: o.totalLabel, from: 0, to: acc, kind: 'total', value: acc });
  const labelChars = Math.min(30, Math.max(6, ...rowsAll.map((x) => x.label.length)));
  const left = Math.round(labelChars * CHAR_W) + 12;
  const right = 64;
  const barH = 18;
  const gap = 8;
  const top = 20;
  const plotBottom = top + rowsAll.length * (barH + gap);
  const H = plotBottom + 26;
  const ends = rowsAll.flatMap((x) => [x.from, x.to]).concat(o.threshold ? [o.threshold.value] : []);
  const ticks = niceTicks(Math.min(0, ...ends), Math.max(0, ...ends), 6);
  const lo = ticks[0] ?? 0;
  const hi = ticks[ticks.length - 1] ?? 1;
  const x = (v: number) => left + ((v - lo) / (hi - lo || 1)) * (W - left - right);
  const colourOf = (k: string) =>
    k === 'up' ? POSITIVE : k === 'down' ? NEGATIVE : k === 'total' ? TOTAL : PALETTE[0];
  const description = `Waterfall: ${o.start.label} ${fmt(o.start.value)}, ${o.steps.map((s) => `${s.label} ${fmt(s.value)}`).join(', ')}; ${o.totalLabel} ${fmt(acc)}${o.threshold ? ` against ${o.threshold.label} ${fmt(o.threshold.value)}` : ''}.`;
  return figure({
    title: o.title,
    description,
    note: o.note,
    legend: [
      { name: 'raises the weight', colour: POSITIVE },
      { name: 'lowers the weight', colour: NEGATIVE },
      ...(o.threshold ? [{ name: o.threshold.label, colour: NEGATIVE, dashed: true }] : []),
    ],
    svg: (ids) => html`${svgOpen(W, H, ids, description)}
${ticks.map((t) => html`<line x1="${r(x(t))}" x2="${r(x(t))}" y1="${top}" y2="${r(plotBottom)}" stroke="${t === 0 ? AXIS : GRID}"/><text x="${r(x(t))}" y="${r(plotBottom + 16)}" text-anchor="middle" fill="${AXIS}">${formatDecimal(t, Number.isInteger(t) ? 0 : 1)}</text>`)}
${rowsAll.map((row, i) => {
  const yy = top + i * (barH + gap);
  const a = x(Math.min(row.from, row.to));
  const b = x(Math.max(row.from, row.to));
  const connector =
    i > 0 && i < rowsAll.length
      ? html`<line x1="${r(x(row.from))}" x2="${r(x(row.from))}" y1="${r(yy - gap)}" y2="${r(yy)}" stroke="${AXIS}" stroke-dasharray="2 2"/>`
      : '';
  return html`<g><title>${row.label}: ${fmt(row.value)}${row.detail ? ` (${row.detail})` : ''}</title>${connector}<text x="${left - 6}" y="${r(yy + barH / 2 + 4)}" text-anchor="end" fill="#0b0c0c"${row.kind === 'total' ? html` font-weight="700"` : ''}>${truncate(row.label, labelChars)}</text><rect x="${r(a)}" y="${r(yy)}" width="${r(Math.max(1, b - a))}" height="${barH}" fill="${colourOf(row.kind)}"/><text x="${r(b + 4)}" y="${r(yy + barH / 2 + 4)}" fill="#0b0c0c">${fmt(row.value)}</text></g>`;
})}
${o.threshold ? html`<line x1="${r(x(o.threshold.value))}" x2="${r(x(o.threshold.value))}" y1="${top - 8}" y2="${r(plotBottom)}" stroke="${NEGATIVE}" stroke-width="2" stroke-dasharray="6 4"/><text x="${r(x(o.threshold.value))}" y="${top - 8}" dy="-2" text-anchor="middle" fill="${NEGATIVE}" font-weight="600">${o.threshold.label}</text>` : ''}
</svg>`,
    data: table({
      caption: o.title,
      columns: [
        { label: 'Step', cell: (row: Row) => row.label },
        { label: 'Contribution', kind: 'num', cell: (row: Row) => (row.kind === 'total' ? '' : fmt(row.value)) },
        { label: 'Running total', kind: 'num', cell: (row: Row) => fmt(row.to) },
        { label: 'Detail', cell: (row: Row) => row.detail ?? '' },
      ],
      rows: rowsAll,
      className: 'compact',
    }),
  });
}

/** Several charts side by side is just a sequence of figures; this joins them. */
export function charts(...figures: SafeHtml[]): SafeHtml {
  return join(figures);
}
