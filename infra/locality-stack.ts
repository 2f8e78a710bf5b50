/**
 * The whole deployment in one stack: KMS key (rotated), secure buckets per zone (+ access logs, Athena results),
 * one Lambda per task, THE run state machine (pipelines/definition.ts) with its failure topic, the backfill
 * state machine (Distributed Map over as-at dates), the `_READY` trigger, and Glue + Athena for reporting.
 */
import {
  CfnCondition,
  CfnOutput,
  CfnParameter,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  type StackProps,
} from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { BACKFILL_CONCURRENCY, buildBackfillDefinition } from '../pipelines/backfill/definition.ts';
import { buildRunDefinition, CONTROL_TASKS } from '../pipelines/definition.ts';

export { BACKFILL_CONCURRENCY };
import { CURATED_TABLES, MANIFEST_LINES_ROOT, type Zone } from '../pipelines/layout.ts';
import { PIPELINE_STAGE_NAMES } from '../pipelines/stages/index.ts';
import { athenaNamedQuery, EXAMPLE_QUERIES } from './example-queries.ts';
import { CURATED_TABLE_COLUMNS, MANIFEST_COLUMNS, projection } from './glue-tables.ts';
import { AccessLogBucket, SecureBucket } from './secure-defaults/buckets.ts';
import { logGroupPrefix, PipelineFunction } from './secure-defaults/functions.ts';
import { acknowledgeAcceptedFindings } from './nag-acknowledgements.ts';
import { METRICS_NAMESPACE, METRICS_SERVICE } from '../pipelines/metrics.ts';
import { AccessRoles, defaultLocalities } from './access-roles.ts';
import { LANDING_OBJECT_LOCK_DAYS, resolveRetention } from './retention.ts';
import { resolveSizing, type SizedTask, type TaskSizing } from './sizing.ts';
import { s3GrantsOf, taskData, zonesOf } from './stage-access.ts';
import { ATHENA_WORKGROUP, GLUE_DATABASE } from './athena-names.ts';

export const TASKS = [...CONTROL_TASKS, ...PIPELINE_STAGE_NAMES, 'backfill-plan'] as const;
export { ATHENA_WORKGROUP, GLUE_DATABASE };

/** Context the app needs (feature flags used by this stack). */
export const APP_CONTEXT = { '@aws-cdk/aws-stepfunctions:useDistributedMapResultWriterV2': true };

export interface LocalityStackProps extends StackProps {
  /** Stamped into every function as CODE_VERSION (the manifest's code version). */
  codeVersion?: string;
  /**
   * The run state machine's timeout (default 12 hours; CDK context `runTimeoutMinutes`). A run lock older than this
   * is stale: the execution that took it has certainly ended, so the next run of that date may take it over.
   */
  runTimeout?: Duration;
  /** Localities that get a target-list reader role (default: the bundled ward-locality configuration + Unassigned). */
  localities?: string[];
  /** Lambda sizing overrides per task (default: the CDK context key `sizing`; see infra/sizing.ts). */
  sizing?: unknown;
}

export const DEFAULT_RUN_TIMEOUT = Duration.hours(12);

/** The quarantine-rate alarm's bound, percent of a feed's rows in one run (context quarantineRateAlarmPercent, default 5). */
export function quarantineRateBound(raw: unknown): number {
  const v = raw === undefined || raw === null ? 5 : Number(raw);
  if (!Number.isFinite(v) || v <= 0 || v > 100)
    throw new Error(`context "quarantineRateAlarmPercent": "${String(raw)}" is not a percentage in (0, 100]`);
  return v;
}

export class LocalityPipelineStack extends Stack {
  readonly key: kms.Key;
  readonly buckets: Record<Zone | 'accessLogs' | 'athenaResults', s3.Bucket>;
  readonly functions: Record<string, lambda.IFunction>;
  readonly runStateMachine: sfn.StateMachine;
  readonly backfillStateMachine: sfn.StateMachine;
  readonly failureTopic: sns.Topic;
  readonly sizing: Record<SizedTask, TaskSizing>;
  readonly accessRoles: AccessRoles;

  constructor(scope: Construct, id: string, props: LocalityStackProps = {}) {
    super(scope, id, props);

    // ---- encryption and storage ------------------------------------------------------------------
    this.key = new kms.Key(this, 'DataKey', {
      description: 'Locality pipeline: buckets, logs, topic, Athena results',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // CloudWatch Logs may use the key only for this stack's log groups (named under LOG_GROUP_PREFIX)
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchLogsForThisStacksLogGroups',
        principals: [new iam.ServicePrincipal(`logs.${this.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${this.partition}:logs:${this.region}:${this.account}:log-group:${logGroupPrefix(this)}*`,
          },
        },
      }),
    );
    const retention = resolveRetention(this.node.tryGetContext('retentionDays'));

    const accessLogs = new AccessLogBucket(this, 'AccessLogs').bucket;
    const secureBucket = (bid: string, extra: Partial<ConstructorParameters<typeof SecureBucket>[2]> = {}) =>
      new SecureBucket(this, bid, { key: this.key, accessLogs, ...extra }).bucket;
    this.buckets = {
      accessLogs,
      landing: secureBucket('Landing', {
        objectLockGovernanceDays: LANDING_OBJECT_LOCK_DAYS,
        eventBridge: true,
        expireAfterDays: retention.landing,
      }),
      secure: secureBucket('SecureMatchZone', { expireAfterDays: retention.secure }),
      curated: secureBucket('Curated'),
      outputs: secureBucket('Outputs'),
      athenaResults: secureBucket('AthenaResults', { noncurrentVersionDays: 7 }),
    };

    // ---- reporting: Glue tables with partition projection, Athena workgroup -----------------------
    const db = new glue.CfnDatabase(this, 'GlueDatabase', {
      catalogId: this.account,
      databaseInput: {
        name: GLUE_DATABASE,
        description: 'Locality pipeline curated tables and run manifests (pseudonymous only)',
      },
    });
    const parquetTable = (table: string, columns: Array<{ name: string; type: string }>, location: string) => {
      const t = new glue.CfnTable(this, `Table-${table}`, {
        catalogId: this.account,
        databaseName: GLUE_DATABASE,
        tableInput: {
          name: table,
          tableType: 'EXTERNAL_TABLE',
          partitionKeys: [{ name: 'as_at', type: 'string' }],
          parameters: { classification: 'parquet', ...projection(`${location}/as_at=\${as_at}/`) },
          storageDescriptor: {
            columns,
            location,
            inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
            outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
            serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
          },
        },
      });
      t.node.addDependency(db);
    };
    for (const table of CURATED_TABLES)
      parquetTable(table, CURATED_TABLE_COLUMNS[table], `s3://${this.buckets.curated.bucketName}/${table}`);
    const manifests = new glue.CfnTable(this, 'Table-run_manifests', {
      catalogId: this.account,
      databaseName: GLUE_DATABASE,
      tableInput: {
        name: 'run_manifests',
        tableType: 'EXTERNAL_TABLE',
        partitionKeys: [{ name: 'as_at', type: 'string' }],
        // one JSON line per run manifest, in its own prefix (pipelines/manifest.ts writeManifest: keys.manifestLine)
        parameters: {
          classification: 'json',
          ...projection(`s3://${this.buckets.outputs.bucketName}/${MANIFEST_LINES_ROOT}as_at=\${as_at}/`),
        },
        storageDescriptor: {
          columns: MANIFEST_COLUMNS,
          location: `s3://${this.buckets.outputs.bucketName}/${MANIFEST_LINES_ROOT}`,
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          serdeInfo: {
            serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
            parameters: { 'ignore.malformed.json': 'true' },
          },
        },
      },
    });
    manifests.node.addDependency(db);

    const workgroup = new athena.CfnWorkGroup(this, 'AthenaWorkGroup', {
      name: ATHENA_WORKGROUP,
      description: 'Locality pipeline reports and information-governance queries',
      state: 'ENABLED',
      recursiveDeleteOption: false,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: 100 * 1024 ** 3,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: `s3://${this.buckets.athenaResults.bucketName}/results/`,
          encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKey: this.key.keyArn },
        },
      },
    });

    for (const q of EXAMPLE_QUERIES) {
      // one as-at partition of each Glue table, the date an execution parameter (`?`), given once per `?`
      const { sql, parameters } = athenaNamedQuery(q, GLUE_DATABASE);
      const nq = new athena.CfnNamedQuery(this, `Query-${q.name}`, {
        name: q.name,
        description:
          `${q.description} Parameters: the as-at date as 'YYYY-MM-DD', ${parameters === 1 ? 'once' : `${parameters} times (once per ?)`}.`.slice(
            0,
            1024,
          ),
        database: GLUE_DATABASE,
        workGroup: ATHENA_WORKGROUP,
        queryString: sql,
      });
      nq.node.addDependency(workgroup);
    }

    // ---- functions -------------------------------------------------------------------------------
    const runTimeout = props.runTimeout ?? DEFAULT_RUN_TIMEOUT;
    const duckdbLayerArn = new CfnParameter(this, 'DuckDbLayerArn', {
      type: 'String',
      description:
        'ARN of a Lambda layer (arm64, nodejs24.x) holding @duckdb/node-api under nodejs/node_modules: see docs/deploy.md',
      allowedPattern: '^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\\d{12}:layer:[A-Za-z0-9_-]+:\\d+$',
    });
    const duckdb = lambda.LayerVersion.fromLayerVersionArn(this, 'DuckDbLayer', duckdbLayerArn.valueAsString);
    const environment: Record<string, string> = {
      LANDING_BUCKET: this.buckets.landing.bucketName,
      SECURE_BUCKET: this.buckets.secure.bucketName,
      CURATED_BUCKET: this.buckets.curated.bucketName,
      OUTPUTS_BUCKET: this.buckets.outputs.bucketName,
      CODE_VERSION: props.codeVersion ?? 'unknown',
      RUN_LOCK_STALE_AFTER_SECONDS: String(runTimeout.toSeconds()),
    };
    const functions: Record<string, lambda.IFunction> = {};
    // memory, /tmp and timeout per task: infra/sizing.ts defaults, overridden by the context key `sizing`
    const sizing = resolveSizing(props.sizing ?? this.node.tryGetContext('sizing'));
    this.sizing = sizing;
    for (const task of TASKS) {
      const pf = new PipelineFunction(this, `Fn-${task}`, {
        entry: task,
        key: this.key,
        environment,
        layers: task === 'backfill-plan' ? [] : [duckdb],
        memoryMiB: sizing[task].memoryMiB,
        ephemeralStorageMiB: sizing[task].ephemeralStorageMiB,
        timeout: Duration.minutes(sizing[task].timeoutMinutes),
        description: `Locality pipeline: ${task}`,
      });
      this.grantAccess(pf.fn, task);
      functions[task] = pf.fn;
    }
    this.functions = functions;

    // ---- the run state machine (THE definition) --------------------------------------------------
    this.failureTopic = new sns.Topic(this, 'RunFailures', {
      displayName: 'Locality pipeline run failures',
      masterKey: this.key,
      enforceSSL: true,
    });
    const run = buildRunDefinition(new Construct(this, 'Run'), {
      functionFor: (t) => {
        const fn = functions[t];
        if (!fn) throw new Error(`no function for task ${t}`);
        return fn;
      },
      failureTopic: this.failureTopic,
    });
    this.runStateMachine = new sfn.StateMachine(this, 'RunStateMachine', {
      stateMachineName: undefined,
      comment: 'One run of the locality pipeline for an as-at date',
      definitionBody: sfn.DefinitionBody.fromChainable(run.chain),
      stateMachineType: sfn.StateMachineType.STANDARD,
      timeout: runTimeout,
      tracingEnabled: true,
      logs: { destination: this.stateMachineLogs('RunLogs'), level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    this.key.grantEncryptDecrypt(this.runStateMachine);

    // a provider (or the data coordinator) drops `<source>/<feed>/dt=<date>/_READY` when the extracts are in
    const ready = new events.Rule(this, 'ReadyMarkerRule', {
      description: 'Start a pipeline run when a _READY marker lands in the landing bucket',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [this.buckets.landing.bucketName] },
          object: { key: events.Match.suffix('/_READY') },
        },
      },
    });
    ready.addTarget(
      new targets.SfnStateMachine(this.runStateMachine, {
        input: events.RuleTargetInput.fromObject({
          marker: events.EventField.fromPath('$.detail.object.key'),
          ranBy: 'eventbridge:ready-marker',
        }),
      }),
    );

    // ---- the backfill state machine: Distributed Map over as-at dates (pipelines/backfill/definition.ts) ----
    const backfill = buildBackfillDefinition(new Construct(this, 'Backfill'), {
      planFunction: functions['backfill-plan']!,
      runStateMachine: this.runStateMachine,
      resultBucket: this.buckets.outputs,
      concurrency: BACKFILL_CONCURRENCY,
    });
    this.backfillStateMachine = new sfn.StateMachine(this, 'BackfillStateMachine', {
      comment: 'Runs the pipeline once per as-at date between two dates (idempotent: dates already done are skipped)',
      definitionBody: sfn.DefinitionBody.fromChainable(backfill.chain),
      stateMachineType: sfn.StateMachineType.STANDARD,
      tracingEnabled: true,
      logs: {
        destination: this.stateMachineLogs('BackfillLogs'),
        level: sfn.LogLevel.ALL,
        includeExecutionData: false,
      },
    });
    this.key.grantEncryptDecrypt(this.backfillStateMachine);

    // ---- who may do what: provider uploads, locality readers, IG; the secure zone fenced by bucket policy ----
    this.accessRoles = new AccessRoles(this, 'Access', {
      key: this.key,
      buckets: this.buckets,
      localities: props.localities ?? defaultLocalities(),
      stageRoles: Object.fromEntries(Object.entries(functions).map(([t, f]) => [t, f.role!])),
      athena: {
        workgroupArn: this.formatArn({ service: 'athena', resource: 'workgroup', resourceName: ATHENA_WORKGROUP }),
        glueArns: [
          this.formatArn({ service: 'glue', resource: 'catalog' }),
          this.formatArn({ service: 'glue', resource: 'database', resourceName: GLUE_DATABASE }),
          this.formatArn({ service: 'glue', resource: 'table', resourceName: `${GLUE_DATABASE}/*` }),
        ],
      },
    });

    this.operations();
    this.acknowledgeFindings();
  }

  private stateMachineLogs(id: string): logs.LogGroup {
    return new logs.LogGroup(this, id, {
      logGroupName: `${logGroupPrefix(this)}states/${id}`,
      retention: logs.RetentionDays.ONE_YEAR,
      encryptionKey: this.key,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** Least privilege, derived from pipelines/layout.ts TASK_DATA (infra/stage-access.ts). */
  private grantAccess(fn: lambda.Function, task: string): void {
    const role = fn.role!;
    const data = taskData(task);
    for (const g of s3GrantsOf(data)) {
      const b = this.buckets[g.zone];
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: g.actions,
          resources: g.objects ? g.objects.map((o) => b.arnForObjects(o)) : [b.bucketArn],
          ...(g.prefixes ? { conditions: { StringLike: { 's3:prefix': g.prefixes } } } : {}),
        }),
      );
    }
    const { reads, writes } = zonesOf(data);
    if (writes.length > 0) this.key.grantEncryptDecrypt(role);
    else if (reads.length > 0) this.key.grantDecrypt(role);
  }

  /** Alarms to the failure topic, its e-mail subscription (parameter), and the stack outputs. */
  private operations(): void {
    const email = new CfnParameter(this, 'AlarmEmail', {
      type: 'String',
      default: '',
      allowedPattern: '^$|^[^@\\s]+@[^@\\s]+$',
      description:
        'E-mail address subscribed to run failures and alarms (empty: none; confirm the subscription from the e-mail AWS sends)',
    });
    const hasEmail = new CfnCondition(this, 'HasAlarmEmail', {
      expression: Fn.conditionNot(Fn.conditionEquals(email.valueAsString, '')),
    });
    const sub = new sns.CfnSubscription(this, 'AlarmEmailSubscription', {
      protocol: 'email',
      topicArn: this.failureTopic.topicArn,
      endpoint: email.valueAsString,
    });
    sub.cfnOptions.condition = hasEmail;
    const failed = new cloudwatch.Alarm(this, 'RunFailedAlarm', {
      alarmDescription: 'A pipeline run failed (see the run manifest error and docs/operations.md)',
      metric: this.runStateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    failed.addAlarmAction(new cloudwatchActions.SnsAction(this.failureTopic));
    const stageMetric = (stage: string, name: string) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: name,
        dimensionsMap: { service: METRICS_SERVICE, stage },
        statistic: 'Maximum',
        period: Duration.minutes(5),
      });
    const privacy = new cloudwatch.Alarm(this, 'PrivacyScanFailedAlarm', {
      alarmDescription:
        'The privacy scan found clear identifiers (or unreadable files) in published outputs: the release was stopped (docs/operations.md)',
      metric: stageMetric('publish', 'PrivacyScanFailed'),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    privacy.addAlarmAction(new cloudwatchActions.SnsAction(this.failureTopic));
    const bound = quarantineRateBound(this.node.tryGetContext('quarantineRateAlarmPercent'));
    const quarantine = new cloudwatch.Alarm(this, 'QuarantineRateAlarm', {
      alarmDescription: `A feed had more than ${bound}% of its rows quarantined in one run (context quarantineRateAlarmPercent; docs/operations.md)`,
      metric: stageMetric('validate', 'QuarantineRate'),
      threshold: bound,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    quarantine.addAlarmAction(new cloudwatchActions.SnsAction(this.failureTopic));
    const out = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    out('LandingBucketName', this.buckets.landing.bucketName, 'Landing bucket: providers upload extracts here');
    out('SecureBucketName', this.buckets.secure.bucketName, 'Secure match zone bucket');
    out('CuratedBucketName', this.buckets.curated.bucketName, 'Curated (pseudonymous) tables bucket');
    out('OutputsBucketName', this.buckets.outputs.bucketName, 'Published outputs bucket');
    out('AthenaResultsBucketName', this.buckets.athenaResults.bucketName, 'Athena query results bucket');
    out(
      'RunStateMachineArn',
      this.runStateMachine.stateMachineArn,
      'The run state machine (one execution per as-at date)',
    );
    out('BackfillStateMachineArn', this.backfillStateMachine.stateMachineArn, 'The backfill state machine');
    out('FailureTopicArn', this.failureTopic.topicArn, 'Run failures and alarms');
  }

  /** Findings accepted with a reason (infra/nag-acknowledgements.ts); anything else fails synthesis. */
  private acknowledgeFindings(): void {
    const nag = acknowledgeAcceptedFindings(this);
    this.unacknowledgedFindings = nag.unmatched;
    this.unusedAcceptances = nag.unused.map((a) => `${String(a.rule)} at ${String(a.path)}`);
  }

  /** Findings no row of ACCEPTED_FINDINGS covers (synthesis reports and fails on them). */
  unacknowledgedFindings: Array<{ rule: string; path: string }> = [];
  /** Rows of infra/nag-acknowledgements.ts that matched no finding of this stack. */
  unusedAcceptances: string[] = [];
}
