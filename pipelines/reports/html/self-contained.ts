/**
 * A static check that an HTML report is self-contained: no attribute or CSS that would fetch anything.
 * (The browser tests check the same thing for real, by routing every request; this one needs no browser.)
 */

export interface ExternalReference {
  kind: string;
  /** What was found, shortened. */
  excerpt: string;
}

const ATTRS =
  /\s(src|href|srcset|action|formaction|poster|data|background|xlink:href|ping|manifest)\s*=\s*("([^"]*)"|'([^']*)'|([^\s>]+))/gi;

/** A link to a file in the same folder (a report's sibling: a list's CSV, another page): no scheme, no path, no query. */
const SIBLING_FILE = /^[A-Za-z0-9%._-]+$/;

/**
 * Lists every reference that could make a request. Allowed: in-page anchors (#id), data: URLs, and links (<a href>)
 * to files in the same folder, which fetch nothing unless followed and then only the published file beside this one.
 */
export function findExternalReferences(page: string): ExternalReference[] {
  const found: ExternalReference[] = [];
  for (const t of page.matchAll(/<([a-zA-Z][a-zA-Z0-9]*)[^>]*>/g)) {
    const tag = (t[1] ?? '').toLowerCase();
    for (const m of t[0].matchAll(ATTRS)) {
      const value = (m[3] ?? m[4] ?? m[5] ?? '').trim();
      const attr = (m[1] ?? '').toLowerCase();
      if (attr === 'href' && value.startsWith('#')) continue;
      if (attr === 'href' && tag === 'a' && SIBLING_FILE.test(value) && !value.startsWith('.')) continue;
      if (/^data:/i.test(value)) continue;
      found.push({ kind: `${attr} attribute`, excerpt: value.slice(0, 80) });
    }
  }
  for (const m of page.matchAll(/url\(\s*(['"]?)([^'")]*)\1\s*\)/gi)) {
    const value = (m[2] ?? '').trim();
    if (value.startsWith('#') || /^data:/i.test(value)) continue;
    found.push({ kind: 'CSS url()', excerpt: value.slice(0, 80) });
  }
  for (const m of page.matchAll(/@import\s+[^;]+;/gi)) found.push({ kind: 'CSS @import', excerpt: m[0].slice(0, 80) });
  for (const m of page.matchAll(/<(script|iframe|embed|object|link)\b[^>]*>/gi))
    found.push({ kind: `<${(m[1] ?? '').toLowerCase()}> element`, excerpt: m[0].slice(0, 80) });
  return found;
}
