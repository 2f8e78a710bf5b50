/**
 * One Task as its Lambda runs it (a child of bench/lambda-sizing.bench.ts): its own process, the Lambda runtime profile
 * (pipelines/runtime.ts lambdaRuntime: no worker threads, tables read one after another, scratch under TMPDIR), S3ObjectStores over the in-process S3
 * (test/support/fake-s3.ts, objects in the bench's bucket folders), temp files under TMPDIR (Lambda's /tmp).
 * Samples peak RSS and the bytes under TMPDIR every 100 ms; prints one JSON line: { task, peakRssBytes, peakTmpBytes,
 * wallMs, output }.
 *
 *   argv: <task> <event JSON>   env: BENCH_BUCKETS = JSON { zone: directory }, BENCH_PARTS = multipart scratch folder
 */
import { readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3ObjectStore } from '../../pipelines/io/s3-object-store.ts';
import { ZONES, type Zone } from '../../pipelines/layout.ts';
import { silentLog } from '../../pipelines/log.ts';
import { prepareRun } from '../../pipelines/manifest.ts';
import { noProgress } from '../../pipelines/progress.ts';
import { invokeStage } from '../../pipelines/stages/invoke.ts';
import { lambdaRuntime } from '../../pipelines/runtime.ts';
import { FakeS3 } from '../../test/support/fake-s3.ts';

async function bytesUnder(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await bytesUnder(p);
    else
      total += await stat(p).then(
        (s) => s.size,
        () => 0,
      );
  }
  return total;
}

async function main(): Promise<void> {
  const [task, eventJson] = process.argv.slice(2);
  if (!task || !eventJson) throw new Error('usage: task.ts <task> <event JSON>');
  const dirs = JSON.parse(process.env.BENCH_BUCKETS ?? '{}') as Record<Zone, string>;
  const s3 = new FakeS3(Object.fromEntries(ZONES.map((z) => [z, dirs[z]])), () => true, process.env.BENCH_PARTS);
  const client = s3.client(task);
  const stores = Object.fromEntries(ZONES.map((z) => [z, new S3ObjectStore({ client, bucket: z })])) as Record<
    Zone,
    S3ObjectStore
  >;
  const tmp = tmpdir();
  // as in a Lambda, with its scratch under TMPDIR (the bench's /tmp) so its bytes are counted
  const runtime = { ...lambdaRuntime(process.env), scratchDir: join(tmp, 'locality-scratch') };
  let peakRss = process.memoryUsage.rss();
  let peakTmp = 0;
  let sampling = false;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    if (sampling) return;
    sampling = true;
    void bytesUnder(tmp).then((b) => {
      peakTmp = Math.max(peakTmp, b);
      sampling = false;
    });
  }, 100);
  const event = JSON.parse(eventJson) as Record<string, unknown>;
  const t0 = performance.now();
  let output: unknown;
  if (task === 'prepare')
    output = await prepareRun(
      { stores, log: silentLog, ...(runtime.principal ? { principal: runtime.principal } : {}) },
      event,
    );
  else
    output = await invokeStage(task, event, {
      stores,
      log: silentLog,
      progress: noProgress,
      runtime,
    });
  const wallMs = performance.now() - t0;
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  peakTmp = Math.max(peakTmp, await bytesUnder(tmp));
  clearInterval(sampler);
  await Promise.all(Object.values(stores).map((s) => s.dispose()));
  process.stdout.write(
    `${JSON.stringify({ task, peakRssBytes: peakRss, peakTmpBytes: peakTmp, wallMs, requests: s3.requests.length, output })}\n`,
  );
}

await main();
