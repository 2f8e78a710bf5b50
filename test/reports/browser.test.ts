/**
 * The published HTML reports in a real headless Chromium (Debian's /usr/bin/chromium driven by
 * playwright-core): the match audit report, the target-lists index and the Start Well report, from a real
 * pipeline run on generated data. Each must render, log no console error, and make no network request
 * (every request is routed; anything but the page's own file: URL or a data: URL fails the test).
 * A screenshot of each is kept under test-artifacts/browser/ (git-ignored).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
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

if (!HAVE_CHROMIUM)
  console.warn(
    `browser tests skipped: ${CHROMIUM} is not installed (Debian: apt-get install -y chromium; .ci/run installs it)`,
  );

describe.skipIf(!HAVE_CHROMIUM)(`HTML reports in headless Chromium (${CHROMIUM})`, () => {
  let root: string;
  let profile: string;
  let context: BrowserContext;
  let outputs: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'browser-reports-'));
    generate({ families: 80, seed: 'browser-test', asAt: AS_AT, out: root, extracts: 2 });
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
    // A persistent context is how Playwright takes a fresh --user-data-dir.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1200, height: 900 },
      offline: true,
    });
    await mkdir(ARTIFACTS, { recursive: true });
  }, 240_000);

  afterAll(async () => {
    await context?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
    if (root) await rm(root, { recursive: true, force: true });
  });

  async function open(file: string, shot: string) {
    const url = pathToFileURL(join(outputs, file)).href;
    expect(existsSync(join(outputs, file)), `${file} was not published`).toBe(true);
    const page = await context.newPage();
    const requests: string[] = [];
    const blocked: string[] = [];
    const errors: string[] = [];
    await page.route('**/*', async (route) => {
      const u = route.request().url();
      requests.push(u);
      if (u === url || u.startsWith('data:')) await route.continue();
      else {
        blocked.push(u);
        await route.abort();
      }
    });
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    const response = await page.goto(url, { waitUntil: 'load' });
    expect(response?.ok() ?? true).toBe(true);
    // Evaluated in the page (a string, so this file needs no DOM typings).
    const facts = (await page.evaluate(`(() => ({
      title: document.title,
      h1: document.querySelector('h1')?.textContent?.trim() ?? '',
      bodyHeight: document.body.scrollHeight,
      tables: document.querySelectorAll('table').length,
      charts: [...document.querySelectorAll('svg[role="img"]')].map((s) => s.getBoundingClientRect().width),
      text: document.body.innerText.length,
    }))()`)) as { title: string; h1: string; bodyHeight: number; tables: number; charts: number[]; text: number };
    await page.screenshot({ path: join(ARTIFACTS, `${shot}.png`), fullPage: true });
    await page.close();
    expect(blocked, 'network requests made by the page').toEqual([]);
    expect(requests).toEqual([url]);
    expect(errors, 'console errors').toEqual([]);
    expect(facts.title.length).toBeGreaterThan(0);
    expect(facts.h1.length).toBeGreaterThan(0);
    expect(facts.bodyHeight).toBeGreaterThan(300);
    expect(facts.text).toBeGreaterThan(200);
    return facts;
  }

  it('the match audit report renders its sections and charts, offline', async () => {
    const f = await open('match-audit/report.html', 'match-audit');
    expect(f.h1).toBe('Match audit report');
    expect(f.tables).toBeGreaterThan(10);
    expect(f.charts.length).toBeGreaterThan(5);
    expect(Math.min(...f.charts)).toBeGreaterThan(200);
  });

  it('the target-lists index renders, offline', async () => {
    const f = await open('target-lists/index.html', 'target-lists-index');
    expect(f.tables).toBeGreaterThan(0);
  });

  it('the Start Well report renders, offline', async () => {
    const f = await open('start-well/report.html', 'start-well');
    expect(f.tables).toBeGreaterThan(0);
  });
});
