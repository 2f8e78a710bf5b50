/**
 * Number and date formatting for reports. Locale-independent (the same bytes on every machine), en-GB style:
 * thousands separated by commas, a dash for "no value".
 */

export const NO_VALUE = '–';

function isNum(n: unknown): n is number {
  return typeof n === 'number' && Number.isFinite(n);
}

function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** 12345 -> "12,345"; rounds to an integer. */
export function formatInt(n: number | null | undefined): string {
  if (!isNum(n)) return NO_VALUE;
  const r = Math.round(n);
  return (r < 0 ? '-' : '') + groupThousands(String(Math.abs(r)));
}

/** 1234.5678, 2 -> "1,234.57". */
export function formatDecimal(n: number | null | undefined, dp = 2): string {
  if (!isNum(n)) return NO_VALUE;
  const fixed = Math.abs(n).toFixed(dp);
  const [whole, frac] = fixed.split('.');
  const negative = n < 0 && Number(fixed) !== 0;
  return (negative ? '-' : '') + groupThousands(whole ?? '0') + (frac ? `.${frac}` : '');
}

/** A ratio 0..1 as a percentage: 0.1234 -> "12.3%". */
export function formatPercent(ratio: number | null | undefined, dp = 1): string {
  if (!isNum(ratio)) return NO_VALUE;
  return `${formatDecimal(ratio * 100, dp)}%`;
}

/** A signed value, e.g. a match weight contribution: 3.2 -> "+3.20", -1 -> "-1.00". */
export function formatSigned(n: number | null | undefined, dp = 2): string {
  if (!isNum(n)) return NO_VALUE;
  const s = formatDecimal(n, dp);
  return n > 0 && Number(n.toFixed(dp)) !== 0 ? `+${s}` : s;
}

/** Small probabilities (m, u): fixed for ordinary values, scientific for tiny ones. */
export function formatProbability(p: number | null | undefined): string {
  if (!isNum(p)) return NO_VALUE;
  if (p === 0) return '0';
  if (Math.abs(p) < 0.0001) return p.toExponential(2);
  return p.toFixed(4);
}

/** Bytes as "1.2 MB" (powers of 1024, one decimal place). */
export function formatBytes(n: number | null | undefined): string {
  if (!isNum(n)) return NO_VALUE;
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${formatInt(v)} B` : `${formatDecimal(v, 1)} ${units[i]}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "2026-03-31" -> "31 Mar 2026"; anything else is returned as given. */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) return NO_VALUE;
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
  if (!m) return iso;
  const month = MONTHS[Number(m[2]) - 1];
  return month ? `${Number(m[3])} ${month} ${m[1]}` : iso;
}

/** "2026-03" -> "Mar 2026". */
export function formatMonth(yyyyMm: string): string {
  const m = /^(\d{4})-(\d{2})$/.exec(yyyyMm);
  const month = m ? MONTHS[Number(m[2]) - 1] : undefined;
  return m && month ? `${month} ${m[1]}` : yyyyMm;
}

/** Milliseconds as "850 ms", "12.3 s", "4 min 05 s". */
export function formatDuration(ms: number | null | undefined): string {
  if (!isNum(ms)) return NO_VALUE;
  if (ms < 1000) return `${formatInt(ms)} ms`;
  if (ms < 60_000) return `${formatDecimal(ms / 1000, 1)} s`;
  const totalS = Math.round(ms / 1000);
  return `${Math.floor(totalS / 60)} min ${String(totalS % 60).padStart(2, '0')} s`;
}
