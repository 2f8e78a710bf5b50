/**
 * The shared report kit: every HTML report (target lists index, Start Well, match audit, review pages)
 * is built from these pieces, so they look alike, are accessible, and make no network requests.
 *
 *   import { renderPage, table, barChart, html, formatInt } from '../html/index.ts';
 *   const page = renderPage({ title, subtitle, sections: [{ title: 'Inputs', body: table({...}) }] });
 */
export { SafeHtml, breakable, escapeHtml, html, join, raw, shortHash, slug, type HtmlValue } from './safe.ts';
export {
  NO_VALUE,
  formatBytes,
  formatDate,
  formatDecimal,
  formatDuration,
  formatInt,
  formatMonth,
  formatPercent,
  formatProbability,
  formatSigned,
} from './format.ts';
export { factList, table, type Column, type TableOptions } from './table.ts';
export {
  CONTENT_SECURITY_POLICY,
  REPORT_CSS,
  keyFigures,
  notice,
  para,
  renderPage,
  subheading,
  type KeyFigure,
  type NoticeKind,
  type PageOptions,
  type PageSection,
} from './page.ts';
export {
  PALETTE,
  barChart,
  charts,
  histogram,
  histogramBins,
  lineChart,
  niceTicks,
  stackedBarChart,
  waterfallChart,
  type BarChartOptions,
  type BarDatum,
  type HistogramBin,
  type HistogramOptions,
  type LineChartOptions,
  type StackedBarOptions,
  type WaterfallOptions,
} from './charts.ts';
export { findExternalReferences } from './self-contained.ts';
