import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../../pipelines/io/local-object-store.ts';
import { writeParquet } from '../../pipelines/io/parquet.ts';
import { keys } from '../../pipelines/layout.ts';
import { jsonLog } from '../../pipelines/log.ts';
import { startPublishedScan, type PublishedScanStores } from '../../pipelines/privacy/published-scan.ts';

const AS_AT = '2026-03-31';

const roots: string[] = [];
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

async function run(opts: { withPersonRecords?: boolean } = {}): Promise<PublishedScanStores> {
  const root = await mkdtemp(join(tmpdir(), 'published-scan-'));
  roots.push(root);
  const stores = {
    secure: new LocalObjectStore(join(root, 'secure')),
    curated: new LocalObjectStore(join(root, 'curated')),
    outputs: new LocalObjectStore(join(root, 'outputs')),
  };
  if (opts.withPersonRecords !== false) {
    await writeParquet(
      stores.secure,
      `as_at=${AS_AT}/person-records.parquet`,
      [
        { name: 'record_id', type: 'VARCHAR' },
        { name: 'forename', type: 'VARCHAR' },
        { name: 'surname', type: 'VARCHAR' },
        { name: 'date_of_birth', type: 'VARCHAR' },
        { name: 'postcode', type: 'VARCHAR' },
      ],
      [
        {
          record_id: 'health:people:H1',
          forename: 'ZEBEDEE',
          surname: 'QUILLFEATHER',
          date_of_birth: '2019-04-07',
          postcode: 'M14 5RB',
        },
        // a surname that is also a locality name: the run's localities are configuration, not a leak
        {
          record_id: 'health:people:H2',
          forename: 'MARGOT',
          surname: 'NORTHWOOD',
          date_of_birth: '2015-11-30',
          postcode: 'M20 2AB',
        },
      ],
    );
  }
  await writeParquet(
    stores.curated,
    keys.curated('families', AS_AT),
    [
      { name: 'family_id', type: 'VARCHAR' },
      { name: 'locality', type: 'VARCHAR' },
    ],
    [
      { family_id: 'F1', locality: 'Northwood' },
      { family_id: 'F2', locality: null },
    ],
  );
  await writeParquet(
    stores.curated,
    keys.curated('family_members', AS_AT),
    [
      { name: 'family_id', type: 'VARCHAR' },
      { name: 'note', type: 'VARCHAR' },
    ],
    [
      { family_id: 'F1', note: 'Zebedee' },
      { family_id: 'F2', note: 'clean' },
    ],
  );
  await stores.outputs.put(
    `as_at=${AS_AT}/target-lists/Northwood.csv`,
    'family_id,locality,postcode\nF1,Northwood,M14 5RB\n',
  );
  // excluded: the report is checked in memory before it is written
  await stores.outputs.put(`as_at=${AS_AT}/match-audit/report.json`, JSON.stringify({ name: 'ZEBEDEE QUILLFEATHER' }));
  return stores;
}

async function scanWith(stores: PublishedScanStores, worker: boolean) {
  const logs: string[] = [];
  const job = startPublishedScan(
    stores,
    { asAt: AS_AT, excludeOutputsPrefix: `as_at=${AS_AT}/match-audit/` },
    jsonLog('debug', (l) => logs.push(l.replace(/"timestamp":"[^"]*",/, ''))),
    { worker },
  );
  try {
    const result = await job.result();
    const content = await job.scanContent([
      { zone: 'outputs', key: 'report.html', content: '<p>Families in Northwood: 12</p>' },
      { zone: 'outputs', key: 'report.json', content: JSON.stringify({ who: 'Zebedee Quillfeather' }) },
    ]);
    return { runsIn: job.runsIn, result, content, logs };
  } finally {
    await job.close();
  }
}

describe("the publish stage's privacy scan job", () => {
  it('gives the same result, findings and logs in a worker thread as in-process', async () => {
    const stores = await run();
    const inProcess = await scanWith(stores, false);
    const inWorker = await scanWith(stores, true);
    expect(inProcess.runsIn).toBe('in-process');
    expect(inWorker.runsIn).toBe('worker');
    // it found what was planted, and only that
    expect(inProcess.result.status).toBe('fail');
    expect(
      inProcess.result.findings.map((f) => `${f.zone}/${f.key} ${f.location} ${f.kind} ${f.recordIds.join(',')}`),
    ).toEqual([
      `curated/${keys.curated('family_members', AS_AT)} row 1, column note forename health:people:H1`,
      `outputs/as_at=${AS_AT}/target-lists/Northwood.csv row 1 (line 2), column postcode postcode health:people:H1`,
    ]);
    expect(inProcess.result.files.map((f) => f.key)).not.toContain(`as_at=${AS_AT}/match-audit/report.json`);
    expect(inProcess.content.map((f) => `${f.key} ${f.kind}`)).toEqual(['report.json full_name']);
    expect(inProcess.logs.some((l) => l.includes('"kind":"postcode"'))).toBe(true);
    // identical from the worker, logs included (forwarded to the caller's log)
    expect(inWorker.result).toEqual(inProcess.result);
    expect(inWorker.content).toEqual(inProcess.content);
    expect(inWorker.logs).toEqual(inProcess.logs);
    // never a value in a log
    for (const l of [...inProcess.logs, ...inWorker.logs]) expect(l).not.toMatch(/ZEBEDEE|Zebedee|M14 5RB/);
  });

  it('covers what is published after it starts: outputs written by earlier publish steps, and a late curated table', async () => {
    for (const worker of [false, true]) {
      const stores = await run();
      const job = startPublishedScan(stores, { asAt: AS_AT }, undefined, { worker });
      try {
        // written while the job scans the curated tables (as the target-list and Start Well steps do)
        await stores.outputs.put(`as_at=${AS_AT}/start-well/report.csv`, 'ward,children\nQuillfeather,3\n');
        await writeParquet(
          stores.curated,
          keys.curated('scores', AS_AT),
          [
            { name: 'family_id', type: 'VARCHAR' },
            { name: 'reason', type: 'VARCHAR' },
          ],
          [{ family_id: 'F1', reason: 'ZEBEDEE QUILLFEATHER' }],
        );
        const result = await job.result();
        expect(result.findings.map((f) => `${f.zone}/${f.key} ${f.kind}`)).toEqual([
          `curated/${keys.curated('family_members', AS_AT)} forename`,
          `curated/${keys.curated('scores', AS_AT)} full_name`,
          `outputs/as_at=${AS_AT}/match-audit/report.json full_name`,
          `outputs/as_at=${AS_AT}/start-well/report.csv surname`,
          `outputs/as_at=${AS_AT}/target-lists/Northwood.csv postcode`,
        ]);
        // each object once
        expect(new Set(result.files.map((f) => `${f.zone}/${f.key}`)).size).toBe(result.files.length);
      } finally {
        await job.close();
      }
    }
  });

  it('can be closed before its result: the scan stops and releases its files (no terminate), the result is refused', async () => {
    const stores = await run();
    for (const worker of [false, true]) {
      const job = startPublishedScan(stores, { asAt: AS_AT }, undefined, { worker });
      await job.close();
      if (worker) await expect(job.result()).rejects.toThrow(/closed/);
    }
  });

  it('surfaces a scan that cannot run, from the worker as in-process', async () => {
    const stores = await run({ withPersonRecords: false });
    for (const worker of [false, true]) {
      const job = startPublishedScan(stores, { asAt: AS_AT }, undefined, { worker });
      await expect(job.result()).rejects.toThrow(
        /no secure person records at as_at=2026-03-31\/person-records\.parquet/,
      );
      await expect(job.scanContent([{ zone: 'outputs', key: 'x.html', content: '<p>x</p>' }])).rejects.toThrow(
        /no secure person records/,
      );
      await job.close();
    }
  });
});
