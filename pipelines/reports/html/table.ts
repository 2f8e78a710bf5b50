/**
 * Accessible data tables: a caption, column headers with scope, an optional row-header column, numbers
 * right-aligned, and a scrollable, keyboard-focusable wrapper for wide tables.
 */
import { formatDecimal, formatInt } from './format.ts';
import { html, SafeHtml, shortHash, slug, type HtmlValue } from './safe.ts';

export interface Column<R> {
  /** Header text. */
  label: string;
  /** The cell content: text is escaped, SafeHtml trusted. Defaults to `row[key]`. */
  cell?: (row: R) => HtmlValue;
  key?: keyof R & string;
  /**
   * 'num' right-aligns and formats plain numbers (integers with separators, others to 2 dp); 'code' is monospace;
   * 'wrap' is text of long codes and lists (flags, rules fired, evidence) that wraps anywhere rather than widen the table.
   */
  kind?: 'text' | 'num' | 'code' | 'wrap';
  /** Short explanation shown under the header (e.g. units). */
  hint?: string;
}

export interface TableOptions<R> {
  caption: string;
  columns: Column<R>[];
  rows: readonly R[];
  /** The first column is the row's header (th scope=row). Default true. */
  rowHeader?: boolean;
  /** Shown instead of the table when rows is empty. */
  empty?: string;
  /** A final, emphasised totals row (same columns). */
  totals?: R;
  /** Extra class names on the table ("compact"). */
  className?: string;
}

function defaultCell<R>(col: Column<R>, row: R): HtmlValue {
  if (col.cell) return col.cell(row);
  if (!col.key) return '';
  const v = (row as Record<string, unknown>)[col.key];
  if (typeof v === 'number') return Number.isInteger(v) ? formatInt(v) : formatDecimal(v, 2);
  if (v === null || v === undefined) return '';
  if (typeof v === 'string' || typeof v === 'boolean' || v instanceof SafeHtml) return v;
  return JSON.stringify(v);
}

export function table<R>(opts: TableOptions<R>): SafeHtml {
  const { caption, columns, rows } = opts;
  const rowHeader = opts.rowHeader ?? true;
  const id = `t-${slug(caption)}-${shortHash(caption + columns.map((c) => c.label).join('|'))}`;
  if (rows.length === 0) {
    return html`<p class="empty"><strong>${caption}:</strong> ${opts.empty ?? 'none.'}</p>`;
  }
  const cls = (c: Column<R>) => (c.kind === 'num' || c.kind === 'code' || c.kind === 'wrap' ? c.kind : undefined);
  const renderRow = (row: R, extraClass?: string) =>
    html`<tr${extraClass ? html` class="${extraClass}"` : ''}>${columns.map((c, i) => {
      const content = defaultCell(c, row);
      const k = cls(c);
      const classAttr = k ? html` class="${k}"` : '';
      return i === 0 && rowHeader
        ? html`<th scope="row"${classAttr}>${content}</th>`
        : html`<td${classAttr}>${content}</td>`;
    })}</tr>`;
  return html`<div class="table-wrap" role="region" aria-labelledby="${id}" tabindex="0">
<table${opts.className ? html` class="${opts.className}"` : ''}>
<caption id="${id}">${caption}</caption>
<thead><tr>${columns.map((c) => {
    const k = cls(c);
    return html`<th scope="col"${k ? html` class="${k}"` : ''}>${c.label}${c.hint ? html`<span class="hint">${c.hint}</span>` : ''}</th>`;
  })}</tr></thead>
<tbody>
${rows.map((r) => renderRow(r))}
</tbody>${
    opts.totals
      ? html`
<tfoot>${renderRow(opts.totals, 'totals')}</tfoot>`
      : ''
  }
</table>
</div>
`;
}

/** A two-column "label: value" list, for run facts (as-at date, code version...). */
export function factList(items: ReadonlyArray<readonly [string, HtmlValue]>): SafeHtml {
  return html`<dl class="facts">${items.map(([k, v]) => html`<div><dt>${k}</dt><dd>${v}</dd></div>`)}</dl>
`;
}
