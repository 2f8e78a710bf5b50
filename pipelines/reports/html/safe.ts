/**
 * Safe HTML building. Every interpolated value is escaped unless it is already `SafeHtml` (built by this
 * kit), so a value from the data (a locality name, a rule description) can never inject markup or script.
 *
 *   html`<p>${userText}</p>`            escapes userText
 *   html`<ul>${items.map((i) => html`<li>${i}</li>`)}</ul>`   arrays are joined, each item escaped or trusted
 */

export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** Trust a string as HTML. Only for markup produced by this kit (never for data). */
export function raw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

function render(v: HtmlValue): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return (v as readonly HtmlValue[]).map(render).join('');
  return escapeHtml(String(v));
}

/** Tagged template: static parts are trusted, interpolations escaped (unless SafeHtml). */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new SafeHtml(out);
}

/**
 * Text with a line-break opportunity (<wbr>) after each _ / : , ; so long codes ("has_members_living_elsewhere",
 * "revenues_benefits/council_tax_arrears") wrap at their parts in a narrow column instead of widening the table.
 */
export function breakable(text: string): SafeHtml {
  return new SafeHtml(
    text
      .split(/(?<=[_/:,;])(?=\S)/)
      .map(escapeHtml)
      .join('<wbr>'),
  );
}

/** Join fragments with an optional separator. */
export function join(parts: readonly HtmlValue[], separator: HtmlValue = ''): SafeHtml {
  return new SafeHtml(parts.map(render).join(render(separator)));
}

/** A deterministic id fragment from text: lower-case letters, digits and dashes. */
export function slug(text: string): string {
  const s = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48);
  return s || 'x';
}

/** A short deterministic hash (FNV-1a, base 36) to make ids unique without randomness. */
export function shortHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(36);
}
