/**
 * Who may do what, evaluated against the synthesized template with the policy evaluator: provider upload roles,
 * locality readers, IG, the secure zone's bucket policy, the KMS grant to CloudWatch Logs, expiry of clear data.
 */
import { App } from 'aws-cdk-lib';
import { Template as CdkTemplate } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { APP_CONTEXT, LocalityPipelineStack } from '../../infra/locality-stack.ts';
import { SOURCES } from '../../pipelines/feeds/catalogue.ts';
import { keys } from '../../pipelines/layout.ts';
import { ACCOUNT, evaluate, logicalIdsOf, type Template } from '../support/iam-policy.ts';
import { taskRole, zoneBuckets } from '../support/policy-replay.ts';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import { ATHENA_WORKGROUP, GLUE_DATABASE } from '../../infra/athena-names.ts';
import { EXAMPLE_QUERIES } from '../../infra/example-queries.ts';
import { AthenaQueryEngine } from '../../pipelines/io/athena-query-engine.ts';
import { CURATED_TABLES } from '../../pipelines/layout.ts';

let t: Template;
let stack: LocalityPipelineStack;
let b: ReturnType<typeof zoneBuckets>;
const D = '2026-03-31';
const key = () => `arn:aws:kms:eu-west-2:${ACCOUNT}:key/${logicalIdsOf(t, 'AWS::KMS::Key')[0]}`;

beforeAll(() => {
  const app = new App({ postCliContext: APP_CONTEXT, context: { 'aws:cdk:bundling-stacks': [] } });
  stack = new LocalityPipelineStack(app, 'LocalityPipeline', { codeVersion: 'git:test' });
  t = CdkTemplate.fromStack(stack).toJSON() as Template;
  b = zoneBuckets(t);
});

const roleId = (r: { node: { defaultChild?: unknown } }) =>
  stack.resolve((r.node.defaultChild as { logicalId: string }).logicalId) as string;
const can = (role: string, action: string, bucket: string, k?: string, context?: Record<string, string>) =>
  evaluate(t, {
    role,
    action,
    resource: k === undefined ? `arn:aws:s3:::${bucket}` : `arn:aws:s3:::${bucket}/${k}`,
    ...(context ? { context } : {}),
  }).decision;

describe('provider upload roles', () => {
  it('one per source; each writes only under its own landing prefix, reads nothing, and may only encrypt with the key', () => {
    expect(Object.keys(stack.accessRoles.providers).sort()).toEqual([...SOURCES].sort());
    expect(SOURCES).toContain('schools');
    const schools = roleId(stack.accessRoles.providers.schools!);
    expect(can(schools, 's3:PutObject', b.landing, `schools/pupils/dt=${D}/pupils.csv`)).toBe('allow');
    expect(can(schools, 's3:PutObject', b.landing, `schools/pupils/dt=${D}/_READY`)).toBe('allow');
    expect(can(schools, 's3:PutObject', b.landing, `police/people/dt=${D}/people.csv`)).toBe('implicit-deny');
    expect(can(schools, 's3:PutObject', b.landing, `schools.csv`)).toBe('implicit-deny');
    expect(can(schools, 's3:GetObject', b.landing, `schools/pupils/dt=${D}/pupils.csv`)).toBe('implicit-deny');
    expect(can(schools, 's3:PutObject', b.secure, `as_at=${D}/x`)).not.toBe('allow');
    expect(evaluate(t, { role: schools, action: 'kms:GenerateDataKey', resource: key() }).decision).toBe('allow');
    expect(evaluate(t, { role: schools, action: 'kms:Decrypt', resource: key() }).decision).toBe('implicit-deny');
  });
});

describe('locality readers', () => {
  it("a reader reads its own locality's lists, not another's, not the index, not the secure zone", () => {
    const north = roleId(stack.accessRoles.localityReaders.North!);
    for (const f of ['North.csv', 'North.xlsx', 'North - open to statutory services.csv', 'North.html'])
      expect(can(north, 's3:GetObject', b.outputs, `as_at=${D}/target-lists/${f}`), f).toBe('allow');
    for (const f of ['South.csv', 'Central.xlsx', 'index.html', 'Northwest.csv'])
      expect(can(north, 's3:GetObject', b.outputs, `as_at=${D}/target-lists/${f}`), f).toBe('implicit-deny');
    expect(can(north, 's3:GetObject', b.outputs, `as_at=${D}/match-audit/report.html`)).toBe('implicit-deny');
    expect(can(north, 's3:GetObject', b.secure, `as_at=${D}/person-records.parquet`)).toBe('explicit-deny');
    expect(
      can(north, 's3:ListBucket', b.outputs, undefined, { 's3:prefix': `as_at=${D}/target-lists/North.csv` }),
    ).toBe('allow');
    expect(can(north, 's3:ListBucket', b.outputs, undefined, { 's3:prefix': `as_at=${D}/target-lists/` })).toBe(
      'implicit-deny',
    );
    expect(Object.keys(stack.accessRoles.localityReaders)).toContain('Unassigned');
  });
});

describe('information governance', () => {
  it('IG reads the audit reports, manifests and curated zone, not target lists or the secure zone', () => {
    const ig = roleId(stack.accessRoles.ig);
    expect(can(ig, 's3:GetObject', b.outputs, `as_at=${D}/match-audit/report.json`)).toBe('allow');
    expect(can(ig, 's3:GetObject', b.outputs, `as_at=${D}/manifest.json`)).toBe('allow');
    expect(can(ig, 's3:GetObject', b.curated, `scores/as_at=${D}/part-00000.parquet`)).toBe('allow');
    // the run_manifests table through Athena: the manifest lines and a listing of their folder, nothing else listed
    expect(can(ig, 's3:GetObject', b.outputs, `run_manifests/as_at=${D}/run-1.json`)).toBe('allow');
    expect(can(ig, 's3:ListBucket', b.outputs, undefined, { 's3:prefix': `run_manifests/as_at=${D}/` })).toBe('allow');
    expect(can(ig, 's3:ListBucket', b.outputs, undefined, { 's3:prefix': `as_at=${D}/target-lists/` })).toBe(
      'implicit-deny',
    );
    expect(can(ig, 's3:GetObject', b.outputs, `as_at=${D}/target-lists/North.csv`)).toBe('implicit-deny');
    expect(can(ig, 's3:GetObject', b.secure, `as_at=${D}/person-records.parquet`)).toBe('explicit-deny');
    expect(
      evaluate(t, {
        role: ig,
        action: 'athena:StartQueryExecution',
        resource: `arn:aws:athena:eu-west-2:${ACCOUNT}:workgroup/locality-pipeline`,
      }).decision,
    ).toBe('allow');
  });
});

describe('`locality query --athena` as information governance', () => {
  it('reaches the workgroup and database the stack made, and IG may make every Athena call the engine makes', async () => {
    const workgroups = Object.values(t.Resources).filter((r) => r.Type === 'AWS::Athena::WorkGroup');
    expect(workgroups.map((w) => w.Properties?.Name)).toEqual([ATHENA_WORKGROUP]);
    const databases = Object.values(t.Resources).filter((r) => r.Type === 'AWS::Glue::Database');
    expect(databases.map((d) => (d.Properties?.DatabaseInput as { Name?: string }).Name)).toEqual([GLUE_DATABASE]);
    // the calls the CLI's engine makes for one query, recorded from the SDK
    const athena = mockClient(AthenaClient);
    try {
      athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
      athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });
      athena.on(GetQueryResultsCommand).resolves({ ResultSet: { ResultSetMetadata: { ColumnInfo: [] }, Rows: [] } });
      const engine = new AthenaQueryEngine({
        client: new AthenaClient({ region: 'eu-west-2' }),
        workGroup: ATHENA_WORKGROUP,
        database: GLUE_DATABASE,
        tables: CURATED_TABLES,
      });
      await engine.query(EXAMPLE_QUERIES[0]!.sql, { asAt: D });
      const actions = [
        ...new Set(athena.calls().map((c) => `athena:${c.args[0].constructor.name.replace(/Command$/, '')}`)),
      ];
      expect(actions.sort()).toEqual([
        'athena:GetQueryExecution',
        'athena:GetQueryResults',
        'athena:StartQueryExecution',
      ]);
      const ig = roleId(stack.accessRoles.ig);
      const workgroup = `arn:aws:athena:eu-west-2:${ACCOUNT}:workgroup/${ATHENA_WORKGROUP}`;
      for (const action of actions)
        expect(evaluate(t, { role: ig, action, resource: workgroup }).decision, action).toBe('allow');
      // Athena reads the Glue tables the query names as the caller
      for (const table of ['families', 'scores'])
        expect(
          evaluate(t, {
            role: ig,
            action: 'glue:GetTable',
            resource: `arn:aws:glue:eu-west-2:${ACCOUNT}:table/${GLUE_DATABASE}/${table}`,
          }).decision,
          table,
        ).toBe('allow');
    } finally {
      athena.restore();
    }
  });
});

describe('the secure zone', () => {
  it('its bucket policy denies every principal but the stage roles that read it, whatever their own policies say', () => {
    expect(can(taskRole(t, 'match'), 's3:GetObject', b.secure, `as_at=${D}/person-records.parquet`)).toBe('allow');
    // prepare reads no secure data: even a wildcard grant on its role cannot open the zone
    const cut = structuredClone(t);
    const finalise = taskRole(cut, 'prepare');
    const policy = Object.values(cut.Resources).find(
      (r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties?.Roles).includes(finalise),
    )!;
    (policy.Properties!.PolicyDocument as { Statement: unknown[] }).Statement.push({
      Effect: 'Allow',
      Action: 's3:*',
      Resource: '*',
    });
    expect(
      evaluate(cut, {
        role: finalise,
        action: 's3:GetObject',
        resource: `arn:aws:s3:::${b.secure}/as_at=${D}/person-records.parquet`,
      }).decision,
    ).toBe('explicit-deny');
    expect(
      evaluate(cut, { role: finalise, action: 's3:PutObject', resource: `arn:aws:s3:::${b.secure}/as_at=${D}/x` })
        .decision,
    ).toBe('explicit-deny');
    expect(
      evaluate(cut, { role: finalise, action: 's3:GetObject', resource: `arn:aws:s3:::${b.outputs}/as_at=${D}/x` })
        .decision,
    ).toBe('allow');
  });

  it("families reads, writes, lists and removes its own shard folder (its shards' inputs and families), no other stage's", () => {
    const families = taskRole(t, 'families');
    const shardKey = `as_at=${D}/families/shards/run-1/input-00000.bin`;
    for (const action of ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'])
      expect(can(families, action, b.secure, shardKey), action).toBe('allow');
    expect(can(families, 's3:GetObject', b.secure, `as_at=${D}/match/shards/run-1/link-input.bin`)).toBe(
      'implicit-deny',
    );
    expect(can(taskRole(t, 'publish'), 's3:GetObject', b.secure, shardKey)).toBe('implicit-deny');
    expect(can(taskRole(t, 'stratify'), 's3:PutObject', b.secure, shardKey)).toBe('implicit-deny');
  });

  it("publish reads, writes, lists and removes its own shard folder (the plan's identifier index, the shards' findings), no other stage's", () => {
    const publish = taskRole(t, 'publish');
    for (const key of ['identifier-index.jsonl.gz', 'curated-scan-00002.bin', 'plan.json'])
      for (const action of ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'])
        expect(can(publish, action, b.secure, `as_at=${D}/publish/shards/run-1/${key}`), `${action} ${key}`).toBe(
          'allow',
        );
    // writes stay where they were: its staging and its shard folder; nothing else in the secure zone
    expect(can(publish, 's3:PutObject', b.secure, `as_at=${D}/person-records.parquet`)).toBe('implicit-deny');
    expect(can(publish, 's3:PutObject', b.secure, `as_at=${D}/stratify/shards/run-1/scores-00000.bin`)).toBe(
      'implicit-deny',
    );
    expect(can(publish, 's3:DeleteObject', b.secure, `as_at=${D}/families/person-dobs.parquet`)).toBe('implicit-deny');
    // no other stage reads the index
    for (const other of ['stratify', 'families', 'match', 'standardise'])
      expect(
        can(taskRole(t, other), 's3:GetObject', b.secure, `as_at=${D}/publish/shards/run-1/identifier-index.jsonl.gz`),
        other,
      ).toBe('implicit-deny');
  });

  it('publish reads named secure keys only, never the whole zone', () => {
    const publish = taskRole(t, 'publish');
    expect(can(publish, 's3:GetObject', b.secure, `as_at=${D}/person-records.parquet`)).toBe('allow');
    // the quarantine: the privacy scan indexes quarantined rows' values too (a leak of one is still a leak)
    expect(can(publish, 's3:GetObject', b.secure, `as_at=${D}/quarantine/police/people/dt=${D}/people.jsonl`)).toBe(
      'allow',
    );
    expect(can(publish, 's3:GetObject', b.secure, keys.refKey)).toBe('implicit-deny');
    expect(can(publish, 's3:GetObject', b.secure, `as_at=${D}/match/shards/run-1/link-input.bin`)).toBe(
      'implicit-deny',
    );
    expect(can(publish, 's3:GetObject', b.secure, `as_at=${D}/validated/police/people/dt=${D}/people.parquet`)).toBe(
      'implicit-deny',
    );
  });
});

describe('keys and retention', () => {
  it("CloudWatch Logs may use the key only for this stack's log groups, and every log group is named under that prefix", () => {
    const [, k] = Object.entries(t.Resources).find(([, r]) => r.Type === 'AWS::KMS::Key')!;
    const logsStmt = JSON.stringify(
      (k.Properties!.KeyPolicy as { Statement: Array<{ Principal?: unknown }> }).Statement.filter((s) =>
        JSON.stringify(s.Principal).includes('logs.'),
      ),
    );
    expect(logsStmt).toContain('kms:EncryptionContext:aws:logs:arn');
    expect(logsStmt).toContain(':log-group:/locality-pipeline/');
    for (const [id, r] of Object.entries(t.Resources).filter(([, r]) => r.Type === 'AWS::Logs::LogGroup'))
      expect(JSON.stringify(r.Properties!.LogGroupName), id).toContain('/locality-pipeline/');
  });

  it('clear data expires: landing and secure have an expiry rule from the retention config', () => {
    const rules = (id: string) => JSON.stringify(t.Resources[id]!.Properties!.LifecycleConfiguration);
    expect(rules(b.landing)).toContain('{"ExpirationInDays":400,"Id":"expire-clear-data","Status":"Enabled"}');
    expect(rules(b.secure)).toContain('{"ExpirationInDays":180,"Id":"expire-clear-data","Status":"Enabled"}');
    expect(rules(b.curated)).not.toContain('expire-clear-data');
  });
});
