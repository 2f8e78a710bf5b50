/**
 * Layout of the published HTML reports as their readers see them, in headless Chromium (/usr/bin/chromium via
 * playwright-core), from a real pipeline run on generated data: at 1,024 and 1,400 px wide nothing overflows the page
 * and the summary tables fit (wider tables sit in their own scrolling region, reachable by keyboard); printed to A4
 * landscape no table runs past the page; no element's content overflows its box unless the element scrolls (long
 * flags and evidence wrap, nothing is cut or spills over); axe-core finds no accessibility violation. Screenshots and PDFs are kept
 * under test-artifacts/browser/ (git-ignored).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../fixtures/generator/generate.ts';
import { runLocal } from '../../pipelines/local/runner.ts';
import { silentLog } from '../../pipelines/log.ts';

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const AS_AT = '2026-03-31';
const ARTIFACTS = resolve('test-artifacts', 'browser');
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
/** A4 landscape less the stylesheet's 10 mm margins, in CSS pixels (96 per inch). */
const A4_LANDSCAPE_CONTENT_PX = Math.floor(((297 - 20) / 25.4) * 96);

interface Layout {
  pageOverflow: number;
  /** Elements (not scroll containers) whose content is wider than their box: spilled over or cut. */
  overflowing: string[];
  tables: Array<{ caption: string; tableWidth: number; wrapWidth: number; scrolls: boolean; right: number }>;
}

/** Measured in the page (a string, so this file needs no DOM typings). */
const MEASURE = `(() => ({
  pageOverflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  overflowing: [...document.body.querySelectorAll('*')].filter((el) => {
    if (!(el instanceof HTMLElement)) return false;
    const cs = getComputedStyle(el);
    if (['inline', 'contents', 'none'].includes(cs.display) || ['auto', 'scroll'].includes(cs.overflowX)) return false;
    return el.scrollWidth > el.clientWidth + 1;
  }).map((el) => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' (' + el.scrollWidth + ' > ' + el.clientWidth + ' px): ' + (el.textContent ?? '').trim().slice(0, 60)),
  tables: [...document.querySelectorAll('table')].map((t) => {
    const wrap = t.closest('.table-wrap') ?? t.parentElement;
    return {
      caption: t.caption?.textContent?.trim() ?? '',
      tableWidth: Math.ceil(t.getBoundingClientRect().width),
      wrapWidth: Math.floor(wrap.getBoundingClientRect().width),
      scrolls: ['auto', 'scroll'].includes(getComputedStyle(wrap).overflowX),
      right: Math.ceil(t.getBoundingClientRect().right),
    };
  }),
}))()`;

describe.skipIf(!HAVE_CHROMIUM)('report layout at 1,024 and 1,400 px and on A4, with axe-core', () => {
  let root: string;
  let profile: string;
  let context: BrowserContext;
  let outputs: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'browser-layout-'));
    generate({ families: 120, seed: 'browser-layout', asAt: AS_AT, out: root, extracts: 2 });
    // the month before too, so the Start Well report has its trend charts
    const prev = await runLocal({
      landing: join(root, 'landing'),
      out: join(root, 'out'),
      asAt: '2026-02-28',
      log: silentLog,
      retryDelayMs: 0,
    });
    if (prev.status !== 'ok') throw new Error(`pipeline run (2026-02-28) failed: ${JSON.stringify(prev.error)}`);
    const res = await runLocal({
      landing: join(root, 'landing'),
      out: join(root, 'out'),
      asAt: AS_AT,
      log: silentLog,
      retryDelayMs: 0,
    });
    if (res.status !== 'ok') throw new Error(`pipeline run failed: ${JSON.stringify(res.error)}`);
    outputs = join(root, 'out', 'outputs', `as_at=${AS_AT}`);
    profile = await mkdtemp(join(tmpdir(), 'chromium-profile-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1024, height: 800 },
      offline: true,
    });
    await mkdir(ARTIFACTS, { recursive: true });
  }, 240_000);

  afterAll(async () => {
    await context?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
    if (root) await rm(root, { recursive: true, force: true });
  });

  async function openAt(file: string, width: number): Promise<Page> {
    const page = await context.newPage();
    await page.setViewportSize({ width, height: 800 });
    await page.goto(pathToFileURL(join(outputs, file)).href, { waitUntil: 'load' });
    return page;
  }

  async function checkScreens(file: string, shot: string, mustFit: RegExp[]) {
    for (const width of [1024, 1400]) {
      const page = await openAt(file, width);
      const layout = (await page.evaluate(MEASURE)) as Layout;
      await page.screenshot({ path: join(ARTIFACTS, `${shot}-${width}.png`), fullPage: true });
      await page.close();
      expect(layout.pageOverflow, `${file} at ${width} px: the page scrolls sideways`).toBeLessThanOrEqual(0);
      expect(layout.overflowing, `${file} at ${width} px: content overflows its box`).toEqual([]);
      for (const t of layout.tables) {
        // a table wider than its box must be in a scrolling region (nothing cut off), and the summaries must fit
        if (t.tableWidth > t.wrapWidth + 1)
          expect(t.scrolls, `${file} at ${width} px: "${t.caption}" is cut off`).toBe(true);
        if (mustFit.some((re) => re.test(t.caption)))
          expect(
            t.tableWidth,
            `${file} at ${width} px: "${t.caption}" (${t.tableWidth} px) is wider than its ${t.wrapWidth} px`,
          ).toBeLessThanOrEqual(t.wrapWidth + 1);
      }
    }
  }

  async function checkPrint(file: string, shot: string) {
    const page = await openAt(file, A4_LANDSCAPE_CONTENT_PX);
    await page.emulateMedia({ media: 'print' });
    const layout = (await page.evaluate(MEASURE)) as Layout;
    await page.pdf({
      path: join(ARTIFACTS, `${shot}-A4.pdf`),
      format: 'A4',
      landscape: true,
      preferCSSPageSize: true,
      printBackground: true,
    });
    await page.close();
    expect(layout.pageOverflow, `${file} printed: wider than A4 landscape`).toBeLessThanOrEqual(0);
    expect(layout.overflowing, `${file} printed: content overflows its box`).toEqual([]);
    for (const t of layout.tables)
      expect(
        t.right,
        `${file} printed: "${t.caption}" runs past the A4 page (${t.right} > ${A4_LANDSCAPE_CONTENT_PX} px)`,
      ).toBeLessThanOrEqual(A4_LANDSCAPE_CONTENT_PX + 1);
  }

  async function checkAxe(file: string) {
    const page = await openAt(file, 1024);
    // evaluated by the browser's debugger (not as a page script), so the report's Content-Security-Policy stays as published
    await page.evaluate(AXE);
    const violations = (await page.evaluate(
      `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => v.id + ': ' + v.nodes.length + ' nodes (' + v.help + ')'))`,
    )) as string[];
    await page.close();
    expect(violations, `${file}: axe-core violations`).toEqual([]);
  }

  it("the target-lists index fits 1,024 and 1,400 px (the summaries and each locality's top families whole: flags and rules wrap), prints on A4, axe clean", async () => {
    await checkScreens('target-lists/index.html', 'layout-target-lists-index', [
      /^Families by locality$/,
      /^Files in this folder$/,
      /^Headlines and the feeds/,
      /highest-scoring families$/,
    ]);
    await checkPrint('target-lists/index.html', 'layout-target-lists-index');
    await checkAxe('target-lists/index.html');
  }, 120_000);

  it("a locality's whole list page fits (every family's row whole: flags and rules wrap), prints on A4, axe clean", async () => {
    await checkScreens('target-lists/North.html', 'layout-target-list-north', [
      /every ranked family$/,
      /open to statutory services$/,
    ]);
    await checkPrint('target-lists/North.html', 'layout-target-list-north');
    await checkAxe('target-lists/North.html');
  }, 120_000);

  it('the Start Well report fits, its banded tables print on A4 with nothing lost, its trend charts drawn, axe clean', async () => {
    expect(readFileSync(join(outputs, 'start-well/report.html'), 'utf8')).toContain(
      'Indicator rates, all localities: the household',
    );
    await checkScreens('start-well/report.html', 'layout-start-well', [
      /by (quarter|half year|year) of birth$/,
      /born in the two years$/,
    ]);
    await checkPrint('start-well/report.html', 'layout-start-well');
    await checkAxe('start-well/report.html');
  }, 120_000);

  it('the match audit report fits, prints on A4 and is axe clean', async () => {
    await checkScreens('match-audit/report.html', 'layout-match-audit', [/^Headlines and the feeds/]);
    await checkPrint('match-audit/report.html', 'layout-match-audit');
    await checkAxe('match-audit/report.html');
  }, 120_000);
});
