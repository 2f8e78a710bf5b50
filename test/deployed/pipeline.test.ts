/**
 * The deployed path, run for real against a real S3 API (moto server on 127.0.0.1, started by .ci/with-moto):
 * the app is synthesized, each function's bundle is taken from its cdk.out asset folder and run as Lambda runs it
 * (one process per Task, the template's environment, the DuckDB native module from a layer-shaped NODE_PATH),
 * driven by THE run definition rendered to ASL. The landing is uploaded to the buckets the template names, as a
 * provider would, with its `_READY` markers. The outputs must be byte-identical to a local run (`run` over local
 * directories) of the same landing and config, except the manifest's timings and who ran it.
 * Two `_READY` markers for one date start one run: the second execution fails, naming the first.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generate } from '../../fixtures/generator/generate.ts';
import { buildApp } from '../../infra/app.ts';
import { RUN_LOCKED_ERROR } from '../../pipelines/io/run-lock.ts';
import { MANIFEST_LINES_ROOT, ZONES, keys, type Zone } from '../../pipelines/layout.ts';
import { runLocal } from '../../pipelines/local/runner.ts';
import { silentLog } from '../../pipelines/log.ts';
import { ZONE_BUCKET_ENV } from '../../functions/lib/ports.ts';
import { createBucket, describeWithMoto, motoClient, uniqueBucket } from '../support/moto.ts';
import { executeDeployed, type DeployedExecution } from './executor.ts';
import { bucketLogicalIds, deployedFunctions, LambdaHost, type Template } from './lambda-host.ts';

const FAMILIES = 300;
const AS_AT = '2026-03-31';
const MARKERS = [`police/people/dt=${AS_AT}/_READY`, `health/people/dt=${AS_AT}/_READY`];
/** Who ran it, as the EventBridge trigger of the stack says so. */
const RAN_BY = 'eventbridge:ready-marker';
const timings: Record<string, number> = {};

async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const t = performance.now();
  try {
    return await fn();
  } finally {
    timings[what] = (performance.now() - t) / 1000;
  }
}

/** Every file under root, following symlinks (a local release is a link to its set under _releases/). */
async function walk(root: string, skip: (key: string) => boolean = () => false): Promise<string[]> {
  const out: string[] = [];
  const go = async (d: string): Promise<void> => {
    for (const name of await readdir(d).catch(() => [] as string[])) {
      const p = join(d, name);
      const key = relative(root, p).split(sep).join('/');
      if (skip(key)) continue;
      if ((await stat(p)).isDirectory()) await go(p);
      else out.push(key);
    }
  };
  await go(root);
  return out.sort();
}

async function listKeys(client: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) out.push(o.Key!);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out.sort();
}

async function getObject(client: S3Client, bucket: string, key: string): Promise<Buffer> {
  const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

const TIMINGS = ['startedAt', 'finishedAt', 'durationMs', 'at', 'recordedAt'];

/** The manifest without what may differ between two executions of the same run: its timings. */
function normalisedManifest(raw: Buffer): unknown {
  return JSON.parse(raw.toString('utf8'), (k, v: unknown) => (TIMINGS.includes(k) ? '<timing>' : v));
}

/** The release marker lists each published file's SHA-256: the manifest's (it holds timings) and its own timings aside. */
function normalisedReleaseMarker(raw: Buffer): unknown {
  const m = normalisedManifest(raw) as { files?: Array<{ name: string; sha256?: string; bytes?: number }> };
  for (const f of m.files ?? [])
    if (f.name === 'manifest.json') Object.assign(f, { sha256: '<manifest>', bytes: '<manifest>' });
  return m;
}

/** Where two JSON values first differ, as a path and the two values (for a readable failure). */
function firstDifference(a: unknown, b: unknown, path = '$'): string {
  if (JSON.stringify(a) === JSON.stringify(b)) return '';
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
      if (d) return d;
    }
  }
  return `${path}: local ${JSON.stringify(a)?.slice(0, 200)} / deployed ${JSON.stringify(b)?.slice(0, 200)}`;
}

describeWithMoto(
  'the deployed path: synthesized bundles in Lambda-like processes, the rendered ASL, a real S3 API (moto)',
  (endpoint) => {
    const client = motoClient(endpoint);
    let work: string;
    let landing: string;
    let host: LambdaHost;
    const buckets = {} as Record<Zone, string>;
    let execution: DeployedExecution;
    let second: DeployedExecution | undefined;
    let manifestDuringSecond: unknown;
    /** The code version the stack stamps into the functions; the local run is given the same. */
    let codeVersion: string;

    beforeAll(async () => {
      const started = performance.now();
      work = await mkdtemp(join(tmpdir(), 'locality-deployed-'));
      // 1. the synthesized app: `npm test` synthesizes first and names its cdk.out in LOCALITY_CDK_OUT; run alone,
      //    the test synthesizes it (bundling every function with esbuild, as `cdk synth` does)
      const reuse = process.env.LOCALITY_CDK_OUT;
      const cdkOut = reuse ? resolve(reuse) : join(work, 'cdk.out');
      const template = await timed(reuse ? 'read cdk.out' : 'synth', async () => {
        if (reuse)
          return JSON.parse(await readFile(join(cdkOut, 'LocalityPipeline.template.json'), 'utf8')) as Template;
        const { app } = buildApp({ codeVersion: 'deployed-path-test', outdir: cdkOut });
        return app.synth().getStackByName('LocalityPipeline').template as Template;
      });
      // 2. the buckets the template names, in moto
      const names = Object.fromEntries(
        bucketLogicalIds(template).map((id) => [id, uniqueBucket(`locality-${id.slice(0, 20)}`)]),
      );
      const functions = deployedFunctions(template, cdkOut, names);
      expect(Object.keys(functions).sort()).toEqual([
        'backfill-plan',
        'families',
        'finalise',
        'match',
        'prepare',
        'publish',
        'record-failure',
        'standardise',
        'stratify',
        'validate',
      ]);
      for (const z of ZONES) buckets[z] = functions.prepare!.environment[ZONE_BUCKET_ENV[z]]!;
      codeVersion = functions.prepare!.environment.CODE_VERSION!;
      for (const b of new Set(Object.values(buckets))) await createBucket(client, b);
      host = await timed('lambda folders', () => LambdaHost.create(join(work, 'lambda'), functions, endpoint));
      // 3. a generated landing, with the providers' _READY markers, uploaded as providers upload it
      landing = join(work, 'gen', 'landing');
      generate({
        families: FAMILIES,
        seed: 'deployed-path',
        asAt: AS_AT,
        out: join(work, 'gen'),
        extracts: 2,
        every: 'month',
      });
      for (const m of MARKERS) {
        await mkdir(join(landing, ...m.split('/').slice(0, -1)), { recursive: true });
        await writeFile(join(landing, ...m.split('/')), '');
      }
      await timed('upload landing', async () => {
        for (const key of await walk(landing)) {
          await client.send(
            new PutObjectCommand({
              Bucket: buckets.landing,
              Key: key,
              Body: await readFile(join(landing, ...key.split('/'))),
            }),
          );
        }
      });
      // 4. the deployed run, as EventBridge starts it from the first marker; while it holds the date, the second
      //    marker's execution starts and must be refused
      execution = await timed('deployed run', () =>
        executeDeployed(
          host,
          'first-ready',
          { marker: MARKERS[0]!, ranBy: RAN_BY },
          {
            afterTask: async (state, result) => {
              if (state !== 'Prepare run' || second) return;
              second = await executeDeployed(host, 'second-ready', { marker: MARKERS[1]!, ranBy: RAN_BY });
              const runId = (result as { runId: string }).runId;
              manifestDuringSecond = JSON.parse(
                (await getObject(client, buckets.outputs, keys.runManifest(AS_AT, runId))).toString('utf8'),
              );
            },
          },
        ),
      );
      // 5. the local run of the same landing and config, with the same code version and the same who-ran-it (the
      //    match audit report shows it), so only the manifest's timings may differ
      //    and the deployment's ref-pseudonym key (a secret made on first use, kept put-if-absent): the local run
      //    is given the same one, as a second deployment would keep its own
      const refKey = await getObject(client, buckets.secure, keys.refKey);
      await mkdir(join(work, 'local', 'secure', ...keys.refKey.split('/').slice(0, -1)), { recursive: true });
      await writeFile(join(work, 'local', 'secure', ...keys.refKey.split('/')), refKey);
      Object.assign(process.env, { CODE_VERSION: codeVersion, LOCALITY_RAN_BY: RAN_BY });
      try {
        await timed('local run', () => runLocal({ landing, out: join(work, 'local'), asAt: AS_AT, log: silentLog }));
      } finally {
        delete process.env.CODE_VERSION;
        delete process.env.LOCALITY_RAN_BY;
      }
      timings.total = (performance.now() - started) / 1000;
    }, 900_000);

    afterAll(async () => {
      const invocations = host?.invocations ?? [];
      console.log(
        `deployed-path test (${FAMILIES} families): ${Object.entries(timings)
          .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
          .join(', ')}; ` +
          `${invocations.length} Lambda invocations (${invocations.map((i) => `${i.task} ${(i.ms / 1000).toFixed(1)} s`).join(', ')})`,
      );
      if (work && process.env.LOCALITY_KEEP_DEPLOYED) console.log(`deployed-path test: work kept in ${work}`);
      else if (work) await rm(work, { recursive: true, force: true });
    });

    it('the run succeeds, every Task in its own process from the synthesized bundle', () => {
      expect(execution.error ?? '', execution.cause).toBe('');
      expect(execution.status).toBe('SUCCEEDED');
      expect(execution.notifications).toEqual([]);
      const tasks = new Set(host.invocations.map((i) => i.task));
      for (const t of ['prepare', 'validate', 'standardise', 'match', 'families', 'stratify', 'publish', 'finalise'])
        expect(tasks, t).toContain(t);
    });

    it('a second _READY marker for the date while the run holds it: its execution fails naming the holder, and changes nothing', () => {
      expect(second).toBeDefined();
      expect(second!.status).toBe('FAILED');
      expect(second!.error).toBe(RUN_LOCKED_ERROR);
      expect(second!.cause).toContain(`already being run by execution ${execution.executionId}`);
      expect(second!.notifications).toEqual([]); // not a failed run: nobody is paged
      expect(manifestDuringSecond).toMatchObject({ status: 'running', ranBy: RAN_BY });
    });

    it('outputs are byte-identical to a local run of the same landing and config (the manifest aside from its timings)', async () => {
      const local = join(work, 'local');
      const differences: string[] = [];
      let compared = 0;
      for (const zone of ['secure', 'curated', 'outputs'] as const) {
        // locally the released set is a link to its folder under outputs/_releases/ (the same files again): the
        // published view is compared, as readers see it
        const localKeys = await walk(join(local, zone), (key) => zone === 'outputs' && key.startsWith('_releases/'));
        const s3Keys = await listKeys(client, buckets[zone]);
        expect(s3Keys, `${zone}: the same objects`).toEqual(localKeys);
        for (const key of s3Keys) {
          const [a, b] = [
            await readFile(join(local, zone, ...key.split('/'))),
            await getObject(client, buckets[zone], key),
          ];
          compared++;
          const manifest =
            zone === 'outputs' && (key.endsWith('/manifest.json') || key.startsWith(MANIFEST_LINES_ROOT));
          const marker = zone === 'outputs' && key.endsWith('/_CURRENT.json');
          // a stage invocation's record (the SHA-256 of what it wrote, for "already done"): when it was recorded aside
          const stageRecord = zone === 'outputs' && /^_runs\/.*\/stages\/.*\.json$/.test(key);
          if (stageRecord) {
            const [ra, rb] = [normalisedManifest(a), normalisedManifest(b)];
            if (JSON.stringify(ra) !== JSON.stringify(rb))
              differences.push(`${zone}/${key} (beyond timings): ${firstDifference(ra, rb)}`);
          } else if (manifest || marker) {
            // the released manifest, the run's own, its JSON line; the release marker
            const [ma, mb] = manifest
              ? [normalisedManifest(a), normalisedManifest(b)]
              : [normalisedReleaseMarker(a), normalisedReleaseMarker(b)];
            if (JSON.stringify(ma) !== JSON.stringify(mb))
              differences.push(`${zone}/${key} (beyond timings): ${firstDifference(ma, mb)}`);
            if (manifest) expect(JSON.parse(b.toString('utf8')).ranBy).toBe(RAN_BY);
          } else if (!a.equals(b)) {
            if (process.env.LOCALITY_KEEP_DEPLOYED) {
              // kept beside the local run's copy for a diff (work/deployed/<zone>/<key>)
              await mkdir(join(work, 'deployed', zone, ...key.split('/').slice(0, -1)), { recursive: true });
              await writeFile(join(work, 'deployed', zone, ...key.split('/')), b);
            }
            differences.push(
              key.endsWith('.json')
                ? `${zone}/${key}: ${firstDifference(JSON.parse(a.toString('utf8')), JSON.parse(b.toString('utf8')))}`
                : `${zone}/${key}`,
            );
          }
        }
      }
      expect(differences).toEqual([]);
      expect(compared).toBeGreaterThan(20);
    });

    it('the run lock is released at the end; the second marker, once the run is done, finds it done and skips', async () => {
      expect(await listKeys(client, buckets.outputs, keys.runLockPrefix(AS_AT))).toEqual([]);
      const again = await executeDeployed(host, 'third-ready', { marker: MARKERS[1]!, ranBy: RAN_BY });
      expect(again.status).toBe('SUCCEEDED');
      expect((again.output as { run?: { skip?: boolean } }).run?.skip).toBe(true);
      expect(await listKeys(client, buckets.outputs, keys.runLockPrefix(AS_AT))).toEqual([]);
    }, 120_000);
  },
);
