import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACCEPTED_FINDINGS, acknowledgementReason } from '../../infra/nag-acknowledgements.ts';
import { APP_CONTEXT, LocalityPipelineStack, TASKS } from '../../infra/locality-stack.ts';
import { CURATED_TABLES, LOOKUPS_PREFIX, TASK_DATA } from '../../pipelines/layout.ts';

let stack: LocalityPipelineStack;
let t: Template;

beforeAll(() => {
  // bundling is exercised by `npm run synth`; here the template's properties are what is checked
  const app = new App({ postCliContext: APP_CONTEXT, context: { 'aws:cdk:bundling-stacks': [] } });
  stack = new LocalityPipelineStack(app, 'LocalityPipeline', { codeVersion: 'git:test' });
  t = Template.fromStack(stack);
});

type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] };
const resources = (type: string) => Object.entries(t.findResources(type)) as Array<[string, Resource]>;
const stmts = (policyId: string) =>
  (
    (t.findResources('AWS::IAM::Policy')[policyId] as Resource).Properties.PolicyDocument as {
      Statement: Array<{ Action: string | string[]; Resource: unknown; Condition?: unknown }>;
    }
  ).Statement;
const json = (v: unknown) => JSON.stringify(v);
interface AslState {
  Catch?: unknown;
  Retry?: Array<{ ErrorEquals: string[]; BackoffRate?: number }>;
  ItemProcessor?: { States: Record<string, AslState> };
}
/** The ASL of a DefinitionString (Fn::Join of strings and tokens): tokens become "TOKEN". */
const aslOf = (d: unknown): { States: Record<string, AslState> } => {
  const parts = (d as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'TOKEN')).join(''));
};

describe('stack: storage security', () => {
  it('one KMS key, with rotation', () => {
    t.resourceCountIs('AWS::KMS::Key', 1);
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('every data bucket: SSE-KMS with the stack key, public access blocked, versioned, access-logged', () => {
    const buckets = resources('AWS::S3::Bucket');
    expect(buckets).toHaveLength(6); // landing, secure, curated, outputs, athena results, access logs
    const data = buckets.filter(([id]) => !id.startsWith('AccessLogs'));
    expect(data).toHaveLength(5);
    for (const [id, b] of data) {
      const enc = json(b.Properties.BucketEncryption);
      expect(enc, id).toContain('aws:kms');
      expect(enc, id).toContain('DataKey');
      expect(b.Properties.PublicAccessBlockConfiguration, id).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(b.Properties.VersioningConfiguration, id).toEqual({ Status: 'Enabled' });
      expect(json(b.Properties.LoggingConfiguration), id).toContain('AccessLogs');
    }
    const [, logs] = buckets.find(([id]) => id.startsWith('AccessLogs'))!;
    expect(logs.Properties.PublicAccessBlockConfiguration).toMatchObject({
      BlockPublicAcls: true,
      RestrictPublicBuckets: true,
    });
  });

  it('landing has Object Lock in governance mode and sends events to EventBridge', () => {
    const [, landing] = resources('AWS::S3::Bucket').find(([id]) => id.startsWith('Landing'))!;
    expect(landing.Properties.ObjectLockEnabled).toBe(true);
    expect(json(landing.Properties.ObjectLockConfiguration)).toContain('"Mode":"GOVERNANCE"');
    t.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: { EventBridgeConfiguration: {} },
    });
  });

  it('every bucket policy denies requests without TLS', () => {
    const policies = resources('AWS::S3::BucketPolicy');
    expect(policies).toHaveLength(6);
    for (const [id, p] of policies) {
      expect(json(p.Properties.PolicyDocument), id).toContain('"aws:SecureTransport":"false"');
      expect(json(p.Properties.PolicyDocument), id).toContain('"Effect":"Deny"');
    }
  });
});

describe('stack: functions', () => {
  it('one function per task, nodejs24.x on arm64, X-Ray active, encrypted env, its own log group', () => {
    const fns = resources('AWS::Lambda::Function').filter(([id]) => id.startsWith('Fn'));
    expect(fns.map(([id]) => id.replace(/Function[0-9A-F]{8}$/, '')).sort()).toEqual(
      TASKS.map((x) => `Fn${x.replaceAll('-', '')}`).sort(),
    );
    for (const [id, f] of fns) {
      expect(f.Properties.Runtime, id).toBe('nodejs24.x');
      expect(f.Properties.Architectures, id).toEqual(['arm64']);
      expect(f.Properties.TracingConfig, id).toEqual({ Mode: 'Active' });
      expect(json(f.Properties.KmsKeyArn), id).toContain('DataKey');
      expect(json(f.Properties.LoggingConfig), id).toContain('Logs');
      expect(json(f.Properties.Environment)).toContain('"CODE_VERSION":"git:test"');
    }
  });

  it('no AWS-managed policy on pipeline roles; only prepare and validate read extracts from landing, families and publish only its lookups', () => {
    for (const [id, r] of resources('AWS::IAM::Role').filter(([id]) => id.startsWith('Fn'))) {
      expect(r.Properties.ManagedPolicyArns, id).toBeUndefined();
    }
    for (const task of TASKS) {
      const landing = TASK_DATA[task]?.landing;
      if (['prepare', 'validate'].includes(task)) expect(landing?.read?.length, task).toBeGreaterThan(0);
      else if (['families', 'publish'].includes(task))
        expect(landing, task).toEqual({ read: [LOOKUPS_PREFIX], list: [LOOKUPS_PREFIX] });
      else expect(landing, task).toBeUndefined();
      expect(landing?.write, task).toBeUndefined();
    }
  });

  it('least privilege: S3 object actions only on the patterns of layout.ts TASK_DATA, ListBucket with a prefix condition unless the task checks missing keys, writes never on landing', () => {
    for (const task of TASKS) {
      const policyId = Object.keys(t.findResources('AWS::IAM::Policy')).find((k) =>
        k.startsWith(`Fn${task.replaceAll('-', '')}RoleDefaultPolicy`),
      );
      if (!policyId) {
        expect(TASK_DATA[task], task).toEqual({});
        continue;
      }
      for (const s of stmts(policyId)) {
        const actions = ([] as string[]).concat(s.Action);
        if (actions.some((a) => a.startsWith('s3:'))) {
          expect(
            actions.some((a) => a === 's3:*' || a === '*'),
            task,
          ).toBe(false);
          if (actions.includes('s3:ListBucket') && !json(s.Resource).includes('AthenaResults')) {
            // a ListBucket without a prefix condition only where the task checks for keys that may be missing
            const zone = (['landing', 'secure', 'curated', 'outputs'] as const).find((z) =>
              json(s.Resource).includes(
                { landing: 'Landing', secure: 'SecureMatchZone', curated: 'Curated', outputs: 'Outputs' }[z],
              ),
            );
            expect(s.Condition === undefined, `${task} ListBucket on ${zone}`).toBe(
              TASK_DATA[task]?.[zone!]?.checksMissing === true,
            );
          }
          if (actions.includes('s3:PutObject'))
            expect(json(s.Resource), `${task} writes landing`).not.toContain('Landing');
          if (actions.includes('s3:GetObject') || actions.includes('s3:PutObject')) {
            // every object resource ends in a declared prefix (or an exact key)
            const arns = json(s.Resource);
            expect(arns, task).not.toMatch(/Bucket[0-9A-F]{8}\.Arn"?\]?,?"\/\*"/);
          }
        }
      }
    }
    // e.g. stratify writes scores only
    const stratify = Object.keys(t.findResources('AWS::IAM::Policy')).find((k) =>
      k.startsWith('FnstratifyRoleDefaultPolicy'),
    )!;
    const writes = stmts(stratify).filter((s) => ([] as string[]).concat(s.Action).includes('s3:PutObject'));
    expect(json(writes.map((w) => w.Resource))).toContain('/scores/as_at=*/*');
    expect(json(writes.map((w) => w.Resource))).not.toContain('/families/');
  });

  it('no pipeline function queries Athena or reads Glue, nor touches the Athena results bucket: no stage uses SQL on Athena (the workgroup and its named queries are for people, through the IG role)', () => {
    const fnPolicies = Object.entries(t.findResources('AWS::IAM::Policy')).filter(([id]) => id.startsWith('Fn'));
    expect(fnPolicies.length).toBeGreaterThan(0);
    for (const [id, p] of fnPolicies) {
      const doc = json((p as Resource).Properties.PolicyDocument);
      expect(doc, id).not.toMatch(/"(athena|glue):/);
      expect(doc, id).not.toContain('AthenaResults');
    }
    for (const [id, f] of resources('AWS::Lambda::Function').filter(([id]) => id.startsWith('Fn'))) {
      expect(json(f.Properties.Environment), id).not.toMatch(/ATHENA|GLUE/);
    }
  });
});

describe('stack: state machines, trigger, failure topic', () => {
  it('run state machine: ALL events logged without execution data, X-Ray tracing, a Map over feeds, Retry and Catch on every stage', () => {
    const machines = resources('AWS::StepFunctions::StateMachine');
    expect(machines).toHaveLength(2);
    for (const [id, m] of machines) {
      expect(m.Properties.TracingConfiguration, id).toEqual({ Enabled: true });
      expect(m.Properties.LoggingConfiguration, id).toMatchObject({ Level: 'ALL', IncludeExecutionData: false });
    }
    const [, run] = machines.find(([id]) => id.startsWith('RunStateMachine'))!;
    const def = json(run.Properties.DefinitionString);
    for (const state of [
      'Validate feeds',
      'Standardise',
      'Match',
      'Families',
      'Stratify',
      'Publish',
      'Record failure',
      'Notify failure',
      'Run failed',
    ])
      expect(def).toContain(`\\"${state}\\"`);
    expect(def).toContain('\\"Type\\":\\"Map\\"');
    expect(def).toContain(':states:::sns:publish');
    const asl = aslOf(run.Properties.DefinitionString);
    for (const state of [
      'Prepare run',
      'Validate feeds',
      'Standardise',
      'Match',
      'Families',
      'Stratify',
      'Publish',
      'Finalise run',
    ]) {
      const st = asl.States[state]!;
      // Prepare first sends a refused run lock (another execution holds the date) to "Already running"
      const lockCatch =
        state === 'Prepare run' ? [{ ErrorEquals: ['RunLocked'], ResultPath: '$.error', Next: 'Already running' }] : [];
      expect(st.Catch, state).toEqual([
        ...lockCatch,
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: expect.stringMatching(/ failed$/) },
      ]);
      const retry =
        state === 'Validate feeds' ? asl.States[state]!.ItemProcessor!.States['Validate feed']!.Retry : st.Retry;
      expect(retry?.[0]?.ErrorEquals, state).toContain('Locality.Transient');
      expect(retry?.[0]?.BackoffRate, state).toBe(2);
    }
  });

  it('publish fans out in the deployed machine: Publish plan -> a Distributed Map of publish shards -> Publish (merge)', () => {
    const [, run] = resources('AWS::StepFunctions::StateMachine').find(([id]) => id.startsWith('RunStateMachine'))!;
    const asl = aslOf(run.Properties.DefinitionString) as unknown as {
      States: Record<
        string,
        AslState & {
          Type: string;
          Next?: string;
          Parameters?: unknown;
          ItemsPath?: string;
          ItemProcessor?: { ProcessorConfig?: unknown; States: Record<string, AslState & { Parameters?: unknown }> };
        }
      >;
    };
    expect(asl.States.Stratify!.Next).toBe('Publish plan');
    expect(asl.States['Publish plan']!.Next).toBe('Publish shards');
    expect(asl.States['Publish plan']!.Parameters).toMatchObject({ input: { phase: 'plan' } });
    const map = asl.States['Publish shards']!;
    expect(map.Type).toBe('Map');
    expect(map.ItemProcessor!.ProcessorConfig).toMatchObject({ Mode: 'DISTRIBUTED' });
    expect(map.ItemsPath).toBe('$.shards.publish.shards');
    expect(map.Next).toBe('Publish');
    expect(asl.States.Publish!.Parameters).toMatchObject({ input: { phase: 'merge' } });
    expect(asl.States.Publish!.Next).toBe('Finalise run');
  });

  it('failures are announced on an encrypted topic that requires TLS', () => {
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('an EventBridge rule starts a run when a _READY marker lands in landing', () => {
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: { object: { key: [{ suffix: '/_READY' }] } },
      },
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('^RunStateMachine') } })],
    });
  });

  it('backfill: a Distributed Map over as-at dates, bounded concurrency, zero tolerated failures, results to S3', () => {
    const [, bf] = resources('AWS::StepFunctions::StateMachine').find(([id]) => id.startsWith('BackfillStateMachine'))!;
    const def = json(bf.Properties.DefinitionString);
    expect(def).toContain('\\"Mode\\":\\"DISTRIBUTED\\"');
    expect(def).toContain('\\"MaxConcurrency\\":2');
    // zero tolerated failures: Step Functions' default when neither ToleratedFailurePercentage nor ToleratedFailureCount is set
    // (CDK renders nothing for 0); any failed as-at date fails the backfill
    expect(def).not.toMatch(/ToleratedFailure(Percentage|Count)/);
    expect(def).toContain('\\"ResultWriter\\"');
    expect(def).toContain(':states:::states:startExecution.sync:2');
  });
});

describe('stack: operations', () => {
  it('alarms on a failed run, a privacy FAIL and a quarantine rate over its bound, all to the failure topic', () => {
    const alarms = resources('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    expect(alarms).toHaveLength(3);
    for (const a of alarms) expect(json(a.AlarmActions)).toContain('RunFailures');
    expect(alarms.find((a) => a.MetricName === 'ExecutionsFailed')).toMatchObject({
      Namespace: 'AWS/States',
      Threshold: 1,
    });
    expect(alarms.find((a) => a.MetricName === 'PrivacyScanFailed')).toMatchObject({
      Namespace: 'LocalityPipeline',
      Threshold: 1,
    });
    expect(alarms.find((a) => a.MetricName === 'QuarantineRate')).toMatchObject({
      Namespace: 'LocalityPipeline',
      Threshold: 5,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('the failure topic takes an e-mail subscription from the AlarmEmail parameter (none when empty)', () => {
    t.hasParameter('AlarmEmail', { Type: 'String', Default: '' });
    const [, sub] = resources('AWS::SNS::Subscription')[0]!;
    expect(sub.Properties).toMatchObject({ Protocol: 'email', Endpoint: { Ref: 'AlarmEmail' } });
    expect((sub as unknown as { Condition: string }).Condition).toBe('HasAlarmEmail');
  });

  it('stack outputs name the buckets and state machines', () => {
    const outputs = Object.keys(t.toJSON().Outputs as object);
    for (const o of [
      'LandingBucketName',
      'SecureBucketName',
      'CuratedBucketName',
      'OutputsBucketName',
      'RunStateMachineArn',
      'BackfillStateMachineArn',
      'FailureTopicArn',
    ])
      expect(outputs).toContain(o);
  });
});

describe('stack: Glue and Athena', () => {
  it('a Glue table per curated table (plus run manifests) with partition projection on as_at', () => {
    const tables = resources('AWS::Glue::Table');
    expect(tables).toHaveLength(CURATED_TABLES.length + 1);
    for (const [id, tb] of tables) {
      const input = tb.Properties.TableInput as {
        PartitionKeys: unknown;
        Parameters: Record<string, string>;
        StorageDescriptor: { Columns: Array<{ Name: string }> };
      };
      expect(input.PartitionKeys, id).toEqual([{ Name: 'as_at', Type: 'string' }]);
      expect(input.Parameters['projection.enabled'], id).toBe('true');
      expect(input.Parameters['projection.as_at.type'], id).toBe('date');
      expect(json(input.Parameters['storage.location.template']), id).toContain('as_at=${as_at}');
      expect(
        input.StorageDescriptor.Columns.map((c) => c.Name),
        id,
      ).not.toContain('as_at');
    }
  });

  it('an Athena workgroup with enforced configuration and KMS-encrypted results', () => {
    t.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        ResultConfiguration: { EncryptionConfiguration: { EncryptionOption: 'SSE_KMS', KmsKey: Match.anyValue() } },
      },
    });
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('no unacknowledged finding remains, and every acknowledgement has a reason', () => {
    expect(stack.unacknowledgedFindings).toEqual([]);
    // and no acceptance is left over from something removed (its reason would describe what is no longer there)
    expect(stack.unusedAcceptances).toEqual([]);
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
    for (const a of ACCEPTED_FINDINGS) expect(a.reason.length, String(a.rule)).toBeGreaterThan(30);
  });

  it("each acknowledgement says exactly what it covers: the construct and the finding's resource or action, then why", () => {
    expect(
      acknowledgementReason(
        'AwsSolutions-IAM5[Resource::<CuratedBucket90F6C1E7.Arn>/scores/as_at=*/*]',
        'LocalityPipeline/Fn-stratify/Role/DefaultPolicy/Resource',
        'the as-at date',
      ),
    ).toBe(
      'Fn-stratify/Role/DefaultPolicy/Resource (Resource::<CuratedBucket90F6C1E7.Arn>/scores/as_at=*/*): the as-at date',
    );
    expect(acknowledgementReason('AwsSolutions-S1', 'LocalityPipeline/AccessLogs/Bucket/Resource', 'loop')).toBe(
      'AccessLogs/Bucket/Resource: loop',
    );
  });

  it('an unreasoned wildcard fails: a new finding that matches no acceptance row is reported', () => {
    const app = new App({ postCliContext: APP_CONTEXT, context: { 'aws:cdk:bundling-stacks': [] } });
    const s = new LocalityPipelineStack(app, 'Other');
    expect(s.unacknowledgedFindings).toEqual([]);
    // a wildcard outside the acceptance table: S3 on every bucket from a pipeline role
    (s.functions.match as lambda.Function).addToRolePolicy(
      new PolicyStatement({ actions: ['s3:*'], resources: ['*'] }),
    );
    const report = new AwsSolutionsChecks().validateScope(s);
    expect(report.violations.map((v) => v.ruleName)).toContain('AwsSolutions-IAM5[Action::s3:*]');
  });
});
