/**
 * The one place Lambda defaults live: every pipeline function is a PipelineFunction.
 * Node.js 24 on arm64, bundled locally by esbuild (never Docker), X-Ray active tracing, a KMS-encrypted log group
 * with retention, environment encrypted with the stack key, no wildcard permissions (callers grant per prefix).
 *
 * Bundle: CommonJS (Lambda's NODE_PATH then finds the DuckDB layer's native module under /opt/nodejs/node_modules),
 * with import.meta.url re-created from __filename so the shared ESM source runs unchanged.
 */
import { Duration, RemovalPolicy, Size, Stack } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lambdaHeapFlag } from '../../bin/heap.mjs';
import { localitySettingsSchema } from '../../models/config.ts';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Native modules the bundle leaves out: provided by the DuckDB layer (arm64 build). */
/**
 * The reference lookups bundled beside every function, at the paths the run config defaults to (models/config.ts
 * localities: postcode directory, ward -> locality, ward names): the families and publish stages read them by
 * relative path, and Lambda's working directory is the bundle root. A run config naming other files reads them from
 * landing lookups/ instead (pipelines/stages/families.ts readLookup).
 */
const defaults = localitySettingsSchema.parse({});
export const BUNDLED_LOOKUPS = [defaults.postcodeDirectory, defaults.wardLocalities, defaults.wardNames];

export const EXTERNAL_MODULES = ['@duckdb/node-api', '@duckdb/node-bindings', '@duckdb/node-bindings-linux-arm64'];

/** Every log group of the stack is named under this prefix (the KMS key lets CloudWatch Logs use it for these only). */
export function logGroupPrefix(scope: Construct): string {
  return `/locality-pipeline/${Stack.of(scope).stackName}/`;
}

export interface PipelineFunctionProps {
  /** functions/<entry>.ts */
  entry: string;
  key: kms.IKey;
  environment: Record<string, string>;
  layers?: lambda.ILayerVersion[];
  memoryMiB?: number;
  /** Lambda /tmp, 512-10,240 MiB (default 512). */
  ephemeralStorageMiB?: number;
  timeout?: Duration;
  description: string;
}

export class PipelineFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `${logGroupPrefix(this)}functions/${props.entry}`,
      retention: logs.RetentionDays.ONE_YEAR,
      encryptionKey: props.key,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Its own role: writes to its own log group only (no AWS-managed policy); callers add data access.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.description,
    });
    logGroup.grantWrite(this.role);
    const memoryMiB = props.memoryMiB ?? 3008;
    this.fn = new NodejsFunction(this, 'Function', {
      role: this.role,
      entry: join(REPO_ROOT, 'functions', `${props.entry}.ts`),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: memoryMiB,
      ephemeralStorageSize: Size.mebibytes(props.ephemeralStorageMiB ?? 512),
      timeout: props.timeout ?? Duration.minutes(15),
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environmentEncryption: props.key,
      environment: {
        // a population stage's merge holds the whole population in one heap: sized to the function (bin/heap.mjs)
        NODE_OPTIONS: ['--enable-source-maps', lambdaHeapFlag(memoryMiB)].filter(Boolean).join(' '),
        POWERTOOLS_SERVICE_NAME: 'locality-pipeline',
        ...props.environment,
      },
      description: props.description,
      layers: props.layers ?? [],
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.CJS,
        target: 'node24',
        minify: true,
        sourceMap: true,
        externalModules: EXTERNAL_MODULES,
        define: { 'import.meta.url': '__locality_import_meta_url' },
        banner: 'const __locality_import_meta_url = require("url").pathToFileURL(__filename).href;',
        // the reference lookups (BUNDLED_LOOKUPS) at the relative paths the stages read them by
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir: string, outputDir: string) =>
            BUNDLED_LOOKUPS.flatMap((f) => [
              `mkdir -p "${outputDir}/${dirname(f)}"`,
              `cp "${inputDir}/${f}" "${outputDir}/${f}"`,
            ]),
        },
      },
    });
  }
}
