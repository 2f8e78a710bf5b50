/**
 * The page shell every HTML report uses: one self-contained file, inline CSS, no scripts, no fonts,
 * no images other than inline SVG, and a Content-Security-Policy that forbids any network request.
 */
import { html, raw, shortHash, slug, type HtmlValue, type SafeHtml } from './safe.ts';

export interface PageSection {
  /** Used for the contents list and the section heading. */
  title: string;
  /** Anchor id; defaults to a slug of the title. */
  id?: string;
  body: HtmlValue;
  /** One-line summary shown under the heading. */
  lead?: string;
}

export interface PageOptions {
  title: string;
  /** Shown under the title, e.g. "As at 31 Mar 2026 · run 2026-03-31-ab12cd". */
  subtitle?: string;
  /** A banner under the header, e.g. the privacy result or "OFFICIAL-SENSITIVE". */
  banner?: HtmlValue;
  /** Content before the first section (key figures, run facts). */
  intro?: HtmlValue;
  sections: PageSection[];
  /** Footer text (e.g. how the report was produced). */
  footer?: HtmlValue;
  /** Show a contents list when there are at least this many sections (default 3). */
  tocMin?: number;
}

/** No network: nothing may be fetched; only inline styles and data: images. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

export const REPORT_CSS = `
:root{--ink:#1b1b1b;--muted:#505a5f;--line:#b1b4b6;--soft:#f3f2f1;--accent:#1d70b8;--pass:#00703c;--fail:#d4351c;--warn:#f47738;--info:#1d70b8;--focus:#ffdd00}
*{box-sizing:border-box}
html{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;font-size:16px;line-height:1.45;color:var(--ink);background:#fff}
body{margin:0}
a{color:var(--accent)}
a:focus,[tabindex]:focus{outline:3px solid var(--focus);outline-offset:0}
header.page{background:#0b0c0c;color:#fff;padding:1.25rem 1.5rem 1rem}
header.page h1{margin:0;font-size:1.75rem;line-height:1.2}
header.page p.subtitle{margin:.35rem 0 0;color:#dcdcdc}
main{max-width:72rem;margin:0 auto;padding:1rem 1.5rem 2rem}
nav.toc{border-left:4px solid var(--line);padding:.25rem 1rem;margin:1rem 0}
nav.toc h2{font-size:1rem;margin:.25rem 0}
nav.toc ol{margin:.25rem 0;padding-left:1.25rem;columns:2;column-gap:2rem}
section.report{margin-top:2rem;border-top:2px solid var(--ink);padding-top:.5rem}
section.report>h2{font-size:1.4rem;margin:.25rem 0 .25rem}
p.lead{color:var(--muted);margin:.1rem 0 .75rem}
h3{font-size:1.1rem;margin:1.5rem 0 .4rem}
.table-wrap{overflow-x:auto;margin:.5rem 0 1rem;max-width:100%}
table{border-collapse:collapse;font-size:.9rem;min-width:50%}
caption{text-align:left;font-weight:600;padding:.25rem 0 .4rem;color:var(--ink)}
th,td{border-bottom:1px solid var(--line);padding:.35rem .6rem;text-align:left;vertical-align:top}
thead th{border-bottom:2px solid var(--ink);background:var(--soft);vertical-align:bottom}
thead th.num{white-space:normal}
tbody th{font-weight:600}
td,th{overflow-wrap:break-word}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.code,th.code{font-family:ui-monospace,Consolas,monospace;font-size:.82rem;overflow-wrap:anywhere;min-width:calc(14ch + 1.2rem)}
td.wrap{overflow-wrap:anywhere;min-width:8ch}
tr.totals th,tr.totals td{font-weight:700;border-top:2px solid var(--ink)}
table.compact th,table.compact td{padding:.2rem .45rem}
span.hint{display:block;font-weight:400;color:var(--muted);font-size:.78rem}
p.empty{color:var(--muted)}
.notice{border-left:8px solid var(--info);background:var(--soft);padding:.75rem 1rem;margin:1rem 0}
.notice.pass{border-color:var(--pass)}.notice.fail{border-color:var(--fail)}.notice.warn{border-color:var(--warn)}
.notice strong.tag{display:inline-block;padding:.05rem .5rem;margin-right:.5rem;color:#fff;background:var(--info);font-size:.85rem;letter-spacing:.03em}
.notice.pass strong.tag{background:var(--pass)}.notice.fail strong.tag{background:var(--fail)}.notice.warn strong.tag{background:#b64f00}
.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:.75rem;margin:1rem 0}
.figure-card{border:1px solid var(--line);border-top:5px solid var(--accent);padding:.5rem .75rem}
.figure-card .value{font-size:1.6rem;font-weight:700;font-variant-numeric:tabular-nums}
.figure-card .label{color:var(--ink);font-size:.9rem}
.figure-card .note{color:var(--muted);font-size:.8rem}
dl.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(16rem,1fr));gap:.25rem 1.5rem;margin:.75rem 0}
dl.facts div{display:flex;gap:.5rem;border-bottom:1px dotted var(--line);padding:.15rem 0}
dl.facts dt{font-weight:600;min-width:8rem}
dl.facts dd{margin:0;word-break:break-word}
figure.chart{margin:1rem 0 1.5rem;max-width:48rem}
figure.chart svg{display:block;width:100%;height:auto;font-family:inherit}
figure.chart figcaption{font-weight:600;margin-bottom:.35rem}
figure.chart details{font-size:.85rem;margin-top:.25rem}
figure.chart details summary{cursor:pointer;color:var(--accent)}
.legend{display:flex;flex-wrap:wrap;gap:.25rem 1rem;font-size:.85rem;margin:.25rem 0}
.legend span.key{display:inline-block;width:.9rem;height:.9rem;margin-right:.3rem;vertical-align:-.1rem;border:1px solid #0003}
footer.page{border-top:1px solid var(--line);color:var(--muted);font-size:.85rem;padding:1rem 1.5rem;max-width:72rem;margin:0 auto}
.muted{color:var(--muted)}
.ok{color:var(--pass);font-weight:600}.bad{color:var(--fail);font-weight:600}
@page{size:A4 landscape;margin:10mm}
@media print{html{font-size:9pt}main,footer.page{max-width:none;padding:0}.table-wrap{overflow:visible}table{font-size:7.5pt;min-width:0}table.compact th,table.compact td{padding:.1rem .25rem}td.num,th.num{white-space:normal}header.page{background:#fff;color:#000;border-bottom:2px solid #000}header.page p.subtitle{color:#333}nav.toc{display:none}section.report{break-inside:auto}figure.chart,table{break-inside:avoid}figure.chart details{display:none}}
`;

export function renderPage(opts: PageOptions): string {
  const sections = opts.sections.map((s) => ({ ...s, id: s.id ?? `s-${slug(s.title)}` }));
  const tocMin = opts.tocMin ?? 3;
  const toc =
    sections.length >= tocMin
      ? html`<nav class="toc" aria-label="Contents"><h2>Contents</h2><ol>${sections.map((s) => html`<li><a href="#${s.id}">${s.title}</a></li>`)}</ol></nav>`
      : '';
  const body = html`<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">
<meta name="referrer" content="no-referrer">
<title>${opts.title}</title>
<style>${raw(REPORT_CSS)}</style>
</head>
<body>
<header class="page">
<h1>${opts.title}</h1>
${opts.subtitle ? html`<p class="subtitle">${opts.subtitle}</p>` : ''}
</header>
<main id="main">
${opts.banner ?? ''}
${opts.intro ?? ''}
${toc}
${sections.map(
  (s) => html`<section class="report" id="${s.id}" aria-labelledby="${s.id}-h">
<h2 id="${s.id}-h">${s.title}</h2>
${s.lead ? html`<p class="lead">${s.lead}</p>` : ''}
${s.body}
</section>
`,
)}
</main>
${opts.footer ? html`<footer class="page">${opts.footer}</footer>` : ''}
</body>
</html>
`;
  return body.value;
}

export type NoticeKind = 'pass' | 'fail' | 'warn' | 'info';

/** A status banner: a coloured bar, a tag (PASS / FAIL / ...) and a message. */
export function notice(kind: NoticeKind, tag: string, message: HtmlValue): SafeHtml {
  const role = kind === 'fail' ? 'alert' : 'status';
  return html`<div class="notice ${kind}" role="${role}"><strong class="tag">${tag}</strong>${message}</div>
`;
}

export interface KeyFigure {
  label: string;
  value: string;
  note?: string;
}

/** A row of headline numbers. */
export function keyFigures(items: KeyFigure[]): SafeHtml {
  return html`<div class="figures">${items.map((f) => html`<div class="figure-card"><div class="value">${f.value}</div><div class="label">${f.label}</div>${f.note ? html`<div class="note">${f.note}</div>` : ''}</div>`)}</div>
`;
}

/** A sub-heading inside a section, with a stable anchor. */
export function subheading(text: string): SafeHtml {
  return html`<h3 id="h-${slug(text)}-${shortHash(text)}">${text}</h3>
`;
}

/** A paragraph of (escaped) text, optionally muted. */
export function para(text: HtmlValue, muted = false): SafeHtml {
  return html`<p${muted ? raw(' class="muted"') : ''}>${text}</p>
`;
}
