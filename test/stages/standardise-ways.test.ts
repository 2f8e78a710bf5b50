/**
 * The standardise stage runs its events pipeline on a worker thread (local directory stores) or in-process
 * (Lambda, other stores): both ways must write byte-identical files and the same counts from the same validated
 * data, and a failure inside the worker must surface as the stage's error, naming the file.
 */
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../fixtures/generator/generate.ts';
import type { ObjectStore } from '../../pipelines/io/object-store.ts';
import { keys } from '../../pipelines/layout.ts';
import { runStandardise, standardiseStage } from '../../pipelines/stages/standardise.ts';
import { eventsOnWorkerPossible } from '../../pipelines/stages/standardise/events-thread.ts';
import { discoverFeeds, validateStage } from '../../pipelines/stages/validate.ts';
import { testTree, type TestTree } from './validate-support.ts';
import { lambdaRuntime, localRuntime } from '../../pipelines/runtime.ts';

const AS_AT = '2026-06-30';
let source: TestTree;
const trees: TestTree[] = [];

beforeAll(async () => {
  source = await testTree();
  generate({
    families: 150,
    seed: 'standardise-ways',
    asAt: AS_AT,
    extracts: 2,
    every: 'month',
    out: source.root,
    force: true,
  });
  const ctx = source.ctx(AS_AT);
  for (const f of await discoverFeeds(ctx)) await validateStage(ctx, f);
});
afterAll(async () => source.dispose());
afterEach(async () => {
  for (const t of trees.splice(0)) await t.dispose();
});

/** A fresh out tree holding a copy of the validated zone (and nothing standardise writes). */
async function copyOfValidated(): Promise<TestTree> {
  const t = await testTree();
  trees.push(t);
  await cp(
    join(source.out, 'secure', `as_at=${AS_AT}`, 'validated'),
    join(t.out, 'secure', `as_at=${AS_AT}`, 'validated'),
    { recursive: true },
  );
  return t;
}

const OUTPUTS: Array<[zone: 'secure' | 'curated', key: string]> = [
  ['secure', keys.secure(AS_AT, 'person-records.parquet')],
  ['curated', keys.curated('records', AS_AT)],
  ['curated', keys.curated('facts', AS_AT)],
  ['curated', keys.curated('relationships', AS_AT)],
];

describe('standardise: worker thread and in-process', () => {
  it('write byte-identical files and the same counts', async () => {
    const [a, b] = [await copyOfValidated(), await copyOfValidated()];
    expect(eventsOnWorkerPossible(localRuntime(), a.stores.secure, a.stores.curated)).toBe(true);
    const onWorker = (await runStandardise(a.ctx(AS_AT), { inWorker: true })).counts;
    const inProcess = (await runStandardise(b.ctx(AS_AT), { inWorker: false })).counts;
    expect(onWorker).toEqual(inProcess);
    // Every kind of output is there, including the cross-pipeline counts (facts and links without a person record).
    expect(onWorker).toMatchObject({ personRecords: expect.any(Number), feedsWithoutValidatedData: 0 });
    for (const k of ['personRecords', 'facts', 'relationships', 'eventRowsRead'])
      expect(onWorker[k], k).toBeGreaterThan(100);
    for (const [zone, key] of OUTPUTS) {
      const [x, y] = [await a.stores[zone].get(key), await b.stores[zone].get(key)];
      expect(x.length, key).toBeGreaterThan(0);
      expect(x.equals(y), `${key} differs between the worker and in-process ways`).toBe(true);
    }
  });

  it('reports a failure inside the worker as the stage error, naming the file', async () => {
    const t = await copyOfValidated();
    const counts = JSON.parse(
      (await t.stores.secure.get(keys.secure(AS_AT, 'validated/police/incidents/_counts.json'))).toString('utf8'),
    ) as { files: Array<{ acceptedKey?: string }> };
    const broken = counts.files.find((f) => f.acceptedKey)!.acceptedKey!;
    await writeFile(join(t.out, 'secure', ...broken.split('/')), 'not parquet');
    await expect(runStandardise(t.ctx(AS_AT), { inWorker: true })).rejects.toThrow(broken.split('/').at(-1)!);
    await expect(runStandardise(t.ctx(AS_AT), { inWorker: false })).rejects.toThrow(broken.split('/').at(-1)!);
  });

  it('runs in-process in a Lambda and over stores that are not local directories', async () => {
    const t = await copyOfValidated();
    expect(
      eventsOnWorkerPossible(
        lambdaRuntime({ AWS_LAMBDA_FUNCTION_NAME: 'locality-standardise' }),
        t.stores.secure,
        t.stores.curated,
      ),
    ).toBe(false);
    const secure = t.stores.secure;
    const wrapped: ObjectStore = {
      location: secure.location,
      get: (k) => secure.get(k),
      getStream: (k) => secure.getStream(k),
      put: (k, b) => secure.put(k, b),
      putIfAbsent: (k, b) => secure.putIfAbsent(k, b),
      exists: (k) => secure.exists(k),
      list: (p) => secure.list(p),
      delete: (k) => secure.delete(k),
      localPath: (k) => secure.localPath(k),
    };
    expect(eventsOnWorkerPossible(localRuntime(), wrapped, t.stores.curated)).toBe(false);
    // The stage itself works over such a store (in-process).
    const counts = (await standardiseStage({ ...t.ctx(AS_AT), stores: { ...t.stores, secure: wrapped } })).counts;
    expect(counts.facts).toBeGreaterThan(100);
  });
});
