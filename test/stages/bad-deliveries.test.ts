import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseAsAt } from '../../pipelines/cli/commands/run.ts';
import { validateLanding } from '../../pipelines/cli/commands/validate.ts';
import { localStores } from '../../pipelines/local/runner.ts';
import { silentLog } from '../../pipelines/log.ts';
import { prepareRun, readManifest, readRunManifest } from '../../pipelines/manifest.ts';
import { CASES, INCIDENTS, PEOPLE, buildCase, expectedOf, type Expected } from '../fixtures/bad-deliveries/cases.ts';

/** What validate made of every landing entry, in the corpus's terms. */
async function outcomes(landing: string, out: string, asAt: string): Promise<Record<string, Expected>> {
  const r = await validateLanding({ landing, out, asAt });
  const actual: Record<string, Expected> = {};
  for (const f of r.files) {
    if (f.status === 'rejected') actual[f.key] = { outcome: 'rejected', reason: f.reason ?? '(none)' };
    else {
      expect(f.rows, `${f.key} reconciles`).toBe(f.accepted + f.quarantined);
      actual[f.key] = {
        outcome: 'read',
        rows: f.rows,
        accepted: f.accepted,
        ...(f.quarantined ? { quarantined: f.quarantinedByReason as Record<string, number> } : {}),
        ...(f.ignoredColumns.length ? { ignoredColumns: f.ignoredColumns } : {}),
      };
    }
  }
  for (const o of r.outsideFeeds)
    if (o.outcome === 'rejected') actual[o.key] = { outcome: 'rejected', reason: o.reason };
  for (const i of r.ignored) {
    expect(actual[i.key], `${i.key} has one outcome`).toBeUndefined();
    actual[i.key] = { outcome: 'ignored', reason: i.reason };
  }
  // the landing totals count every entry once
  expect(r.landing.objects).toBe(Object.keys(actual).length);
  return actual;
}

describe('bad-deliveries corpus (test/fixtures/bad-deliveries)', () => {
  it.each(CASES.map((c) => [c.name, c] as const))(
    '%s: every entry read, rejected or ignored exactly as expected; run and validate agree',
    async (_name, c) => {
      const root = await mkdtemp(join(tmpdir(), 'locality-bad-delivery-'));
      try {
        const landing = await buildCase(root, c);
        const { asAt } = await chooseAsAt(landing, c.asAt);
        if (!c.asAt)
          expect(asAt, 'the default as-at date is the latest date holding a readable extract').toBe('2026-01-10');
        const out = join(root, 'out');
        expect(await outcomes(landing, out, asAt)).toEqual(expectedOf(c));

        // `run` decides from the same classification: the prepared run validates every feed with an entry read or
        // rejected, and its manifest accounts for every entry (read ones as inputs, the others with their reason).
        const stores = localStores(landing, join(root, 'run'));
        const prepared = await prepareRun({ stores, log: silentLog }, { asAt });
        const m = (await readRunManifest(stores.outputs, asAt, prepared.runId))!;
        const expected = expectedOf(c);
        const feeds = new Set(
          Object.entries(expected)
            .filter(([, e]) => e.outcome !== 'ignored')
            .map(([k]) => k.split('/').slice(0, 2).join('/'))
            .filter((f) => f.includes('/')),
        );
        expect(prepared.feeds.map((f) => `${f.source}/${f.feed}`).sort()).toEqual([...feeds].sort());
        const accounted = [...m.inputs.map((i) => i.key), ...m.landing!.notRead.map((n) => n.key)].sort();
        expect(accounted).toEqual(Object.keys(expected).sort());
        expect(m.landing!.objects).toBe(Object.keys(expected).length);
        for (const n of m.landing!.notRead)
          expect(n.reason, n.key).toBe((expected[n.key] as { reason: string }).reason);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    },
  );

  it('covers every entry-level reason and every file-level rejection reason', async () => {
    const { ENTRY_REJECT_REASONS, IGNORE_REASONS } = await import('../../pipelines/feeds/landing.ts');
    const { FILE_REJECT_REASONS } = await import('../../pipelines/stages/validate.ts');
    const seen = new Set(CASES.flatMap((c) => Object.values(c.expected).map((e) => ('reason' in e ? e.reason : ''))));
    expect(
      [...ENTRY_REJECT_REASONS, ...IGNORE_REASONS, ...FILE_REJECT_REASONS].filter(
        (r) => !seen.has(r) && r !== 'record_too_long',
      ),
    ).toEqual([]);
  });

  it('the default as-at date skips an empty later dt= folder and says why; a readable later extract moves it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'locality-bad-delivery-'));
    try {
      const landing = await buildCase(
        root,
        CASES.find((c) => c.name === 'empty-future-dt-folder')!,
      );
      expect(await chooseAsAt(landing, undefined)).toEqual({
        asAt: '2026-01-10',
        why: 'the latest extract date holding a readable extract; passed over dt=2099-01-01 (nothing readable)',
      });
      const later = await buildCase(join(root, 'b'), {
        name: 'later',
        what: '',
        entries: [{ file: 'police/incidents/dt=2026-02-01/incidents.csv', body: INCIDENTS }],
        expected: {},
      });
      expect((await chooseAsAt(later, undefined)).asAt).toBe('2026-02-01');
      expect((await chooseAsAt(later, '2026-01-12')).why).toBe('given by --as-at');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('refuses a date with no readable people feed, in the CLI and in prepare, naming what to do', async () => {
    const root = await mkdtemp(join(tmpdir(), 'locality-bad-delivery-'));
    try {
      const landing = await buildCase(root, {
        name: 'no-people',
        what: '',
        entries: [{ file: 'police/people/dt=2026-02-01/people.csv', body: PEOPLE }],
        expected: {},
      });
      await rm(join(landing, 'police', 'people', 'dt=2026-01-10'), { recursive: true });
      await expect(chooseAsAt(landing, '2026-01-15')).rejects.toThrow(
        "as-at 2026-01-15: no readable people feed extract dated on or before 2026-01-15 (a run matches people: every source's people feed is missing); the earliest people extract is dated 2026-02-01: give --as-at 2026-02-01 or later",
      );
      const stores = localStores(landing, join(root, 'run'));
      await expect(prepareRun({ stores, log: silentLog }, { asAt: '2026-01-15' })).rejects.toThrow(
        'no readable people feed extract',
      );
      expect(await readManifest(stores.outputs, '2026-01-15')).toBeUndefined();
      expect((await chooseAsAt(landing, undefined)).asAt).toBe('2026-02-01');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
