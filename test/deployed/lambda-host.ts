/**
 * Runs the synthesized Lambda bundles as Lambda would: each invocation is its own Node process, started in a copy
 * of the function's cdk.out asset folder (a Lambda-like folder: no package.json beside or above it), with exactly
 * the environment the synthesized template sets on that function plus what the Lambda service adds (function name,
 * memory, task root, region, credentials: dummies), AWS_ENDPOINT_URL_S3 at moto, and NODE_PATH at a folder laid out
 * like the DuckDB layer's /opt/nodejs/node_modules. Nothing of the test's own environment leaks in.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { MOTO_CREDENTIALS, MOTO_REGION } from '../support/moto.ts';

const run = promisify(execFile);
const REPO = join(import.meta.dirname, '..', '..');

type Json = Record<string, unknown>;
export interface Template {
  Resources: Record<string, { Type: string; Properties: Json; Metadata?: Json }>;
}

export interface DeployedFunction {
  task: string;
  logicalId: string;
  /** The cdk.out asset folder of its bundle. */
  assetDir: string;
  handler: string;
  memoryMiB: number;
  /** The environment the template sets, with bucket Refs resolved to the test's bucket names. */
  environment: Record<string, string>;
}

/** The pipeline functions of the synthesized template, keyed by task (their Description is "Locality pipeline: <task>"). */
export function deployedFunctions(
  template: Template,
  cdkOut: string,
  bucketNames: Record<string, string>,
): Record<string, DeployedFunction> {
  const out: Record<string, DeployedFunction> = {};
  for (const [logicalId, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const m = /^Locality pipeline: (.+)$/.exec(String(r.Properties.Description ?? ''));
    if (!m) continue;
    // the bundle's asset: Code.S3Key is "<asset hash>.zip", staged in cdk.out as asset.<asset hash>/
    const s3Key = (r.Properties.Code as { S3Key?: unknown } | undefined)?.S3Key;
    const hash = typeof s3Key === 'string' ? /^([0-9a-f]{64})\.zip$/.exec(s3Key)?.[1] : undefined;
    if (!hash) throw new Error(`${logicalId}: Code.S3Key ${JSON.stringify(s3Key)} is not an asset "<hash>.zip"`);
    const assetPath = `asset.${hash}`;
    const vars = ((r.Properties.Environment as Json | undefined)?.Variables ?? {}) as Record<string, unknown>;
    const environment: Record<string, string> = {};
    for (const [k, v] of Object.entries(vars)) environment[k] = resolveValue(v, bucketNames, `${logicalId} ${k}`);
    out[m[1]!] = {
      task: m[1]!,
      logicalId,
      assetDir: join(cdkOut, assetPath),
      handler: String(r.Properties.Handler),
      memoryMiB: Number(r.Properties.MemorySize ?? 128),
      environment,
    };
  }
  return out;
}

function resolveValue(v: unknown, refs: Record<string, string>, what: string): string {
  if (typeof v === 'string') return v;
  const ref = (v as { Ref?: string } | null)?.Ref;
  if (ref && refs[ref]) return refs[ref];
  throw new Error(
    `${what}: cannot resolve ${JSON.stringify(v)} (only strings and Refs to the stack's buckets are expected)`,
  );
}

/** Logical ids of the stack's S3 buckets. */
export function bucketLogicalIds(template: Template): string[] {
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::S3::Bucket')
    .map(([id]) => id);
}

/** Lays out a folder like the DuckDB layer (nodejs/node_modules/@duckdb/...) from this checkout's install. Returns NODE_PATH. */
export async function duckdbLayer(root: string): Promise<string> {
  const modules = join(root, 'nodejs', 'node_modules');
  const scope = join(REPO, 'node_modules', '@duckdb');
  for (const name of await readdir(scope)) {
    if (name === 'node-api' || name.startsWith('node-bindings'))
      await cp(join(scope, name), join(modules, '@duckdb', name), { recursive: true, dereference: true });
  }
  return modules;
}

/** Copies a bundle to a Lambda-like folder and checks no package.json sits beside or above it. */
export async function lambdaFolder(fn: DeployedFunction, root: string): Promise<string> {
  const dir = join(root, fn.task);
  await cp(fn.assetDir, dir, { recursive: true });
  for (let d = dir; ; d = dirname(d)) {
    const found = await stat(join(d, 'package.json')).then(
      () => true,
      () => false,
    );
    if (found)
      throw new Error(
        `${join(d, 'package.json')} is beside or above the Lambda folder ${dir}: Lambda has none; choose another root`,
      );
    if (dirname(d) === d) break;
  }
  return dir;
}

/** The child process: loads the bundle's handler the way the Node runtime loads a CommonJS handler, calls it once. */
const INVOKE_SCRIPT = `'use strict';
const fs = require('node:fs');
const path = require('node:path');
const [eventFile, resultFile] = process.argv.slice(2);
const [file, exportName] = process.env._HANDLER.split('.');
const write = (r) => fs.writeFileSync(resultFile, JSON.stringify(r));
let mod;
try {
  mod = require(path.join(process.env.LAMBDA_TASK_ROOT, file + '.js'));
} catch (err) {
  write({ ok: false, errorType: 'Runtime.ImportModuleError', errorMessage: String(err && err.stack || err) });
  process.exit(0);
}
const context = {
  functionName: process.env.AWS_LAMBDA_FUNCTION_NAME, functionVersion: '$LATEST', memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
  invokedFunctionArn: 'arn:aws:lambda:' + process.env.AWS_REGION + ':000000000000:function:' + process.env.AWS_LAMBDA_FUNCTION_NAME,
  awsRequestId: require('node:crypto').randomUUID(), logGroupName: '/aws/lambda/' + process.env.AWS_LAMBDA_FUNCTION_NAME,
  getRemainingTimeInMillis: () => 900000, callbackWaitsForEmptyEventLoop: true,
};
Promise.resolve().then(() => mod[exportName](JSON.parse(fs.readFileSync(eventFile, 'utf8')), context)).then(
  (result) => write({ ok: true, result: result === undefined ? null : result }),
  (err) => write({ ok: false, errorType: (err && err.name) || 'Error', errorMessage: String(err && err.message || err) }),
).then(() => process.exit(0));
`;

export interface InvokeResult {
  ok: boolean;
  result?: unknown;
  errorType?: string;
  errorMessage?: string;
}

export class LambdaHost {
  private seq = 0;
  readonly invocations: Array<{ task: string; ms: number; ok: boolean }> = [];

  private constructor(
    private readonly root: string,
    private readonly folders: Record<string, string>,
    private readonly functions: Record<string, DeployedFunction>,
    private readonly nodePath: string,
    private readonly endpoint: string,
  ) {}

  static async create(
    root: string,
    functions: Record<string, DeployedFunction>,
    endpoint: string,
  ): Promise<LambdaHost> {
    await mkdir(root, { recursive: true });
    const nodePath = await duckdbLayer(join(root, 'opt'));
    const folders: Record<string, string> = {};
    for (const fn of Object.values(functions)) folders[fn.task] = await lambdaFolder(fn, join(root, 'var-task'));
    await writeFile(join(root, 'invoke.cjs'), INVOKE_SCRIPT);
    return new LambdaHost(root, folders, functions, nodePath, endpoint);
  }

  /** One invocation of `task`'s function in a fresh process (a cold start each time). */
  async invoke(task: string, event: unknown): Promise<InvokeResult> {
    const fn = this.functions[task];
    const dir = this.folders[task];
    if (!fn || !dir) throw new Error(`no deployed function for task ${task}`);
    const n = ++this.seq;
    const work = join(this.root, 'invocations', `${String(n).padStart(4, '0')}-${task}`);
    const tmp = join(work, 'tmp');
    await mkdir(tmp, { recursive: true });
    await writeFile(join(work, 'event.json'), JSON.stringify(event));
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ...fn.environment,
      _HANDLER: fn.handler,
      LAMBDA_TASK_ROOT: dir,
      AWS_LAMBDA_FUNCTION_NAME: `LocalityPipeline-${fn.logicalId}`,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMiB),
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
      AWS_REGION: MOTO_REGION,
      AWS_DEFAULT_REGION: MOTO_REGION,
      AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_S3: this.endpoint,
      NODE_PATH: this.nodePath,
      TMPDIR: tmp,
      TZ: ':UTC',
      LANG: 'en_US.UTF-8',
    };
    const started = performance.now();
    try {
      const { stdout, stderr } = await run(
        process.execPath,
        [join(this.root, 'invoke.cjs'), join(work, 'event.json'), join(work, 'result.json')],
        {
          cwd: dir,
          env,
          maxBuffer: 256 * 1024 * 1024,
        },
      );
      await writeFile(join(work, 'log.txt'), `${stdout}${stderr}`);
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; code?: number; signal?: string };
      await writeFile(join(work, 'log.txt'), `${e.stdout ?? ''}${e.stderr ?? ''}`);
      throw new Error(
        `${task}: the function's process failed (exit ${e.code ?? '?'} ${e.signal ?? ''}); log in ${join(work, 'log.txt')}`,
        { cause: err },
      );
    }
    const result = JSON.parse(await readFile(join(work, 'result.json'), 'utf8')) as InvokeResult;
    this.invocations.push({ task, ms: performance.now() - started, ok: result.ok });
    return result;
  }
}
