/**
 * cdk-nag AwsSolutions findings this stack accepts, each with its reason. Every finding is matched against
 * this table by rule id and construct path; a finding that matches no row stays unacknowledged, and
 * `cdk synth` fails. So a new wildcard, managed policy or unencrypted resource cannot slip in silently:
 * it needs a row here, with a reason a reviewer can judge.
 */
import { Validations, type Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';

export interface AcceptedFinding {
  /** Matches the finding id, e.g. AwsSolutions-IAM5[Resource::<CuratedBucket...Arn>/scores/*]. */
  rule: RegExp;
  /** Matches the violating construct's path. */
  path: RegExp;
  reason: string;
}

const BUCKET_OBJECTS =
  /^AwsSolutions-IAM5\[Resource::<(Landing|SecureMatchZone|Curated|Outputs|AthenaResults)Bucket[0-9A-F]{8}\.Arn>\/[^\]]*\*[^\]]*\]$/;

export const ACCEPTED_FINDINGS: AcceptedFinding[] = [
  {
    rule: BUCKET_OBJECTS,
    path: /\/Fn-[a-z-]+\/Role\/DefaultPolicy\/Resource$/,
    reason:
      'Object ARNs limited to the key patterns this task reads, writes or deletes in pipelines/layout.ts TASK_DATA (turned into IAM by infra/stage-access.ts); each * stands for what is known only at run time: the as-at date (as_at=*), a source, feed or file name, a run id, or the objects under one table or folder.',
  },
  {
    rule: /^AwsSolutions-IAM5\[Action::kms:(ReEncrypt|GenerateDataKey)\*\]$/,
    path: /\/(Fn-[a-z-]+\/Role|RunStateMachine\/Role|BackfillStateMachine\/Role)\/DefaultPolicy\/Resource$/,
    reason:
      "Scoped to the stack's single data key; these action families are what SSE-KMS reads, multipart writes and the encrypted topic need (CDK Key.grantEncryptDecrypt).",
  },
  {
    rule: /^AwsSolutions-IAM5\[Resource::\*\]$/,
    path: /\/(Fn-[a-z-]+\/Role|RunStateMachine\/Role|BackfillStateMachine\/Role)\/DefaultPolicy\/Resource$/,
    reason:
      'X-Ray tracing only (xray:PutTraceSegments, PutTelemetryRecords, GetSampling*): these actions support no resource-level permissions.',
  },
  {
    rule: /^AwsSolutions-IAM5\[Resource::<Fn[a-z]+Function[0-9A-F]{8}\.Arn>:\*\]$/,
    path: /\/(RunStateMachine|BackfillStateMachine)\/Role\/DefaultPolicy\/Resource$/,
    reason:
      "Invoking the pipeline's own functions, including their versions and aliases (CDK LambdaInvoke grants function ARN and ARN:*).",
  },
  {
    rule: /^AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:s3:::<OutputsBucket[0-9A-F]{8}>\/\*\]$/,
    path: /\/BackfillStateMachine\/Role\/DefaultPolicy\/Resource$/,
    reason:
      "The Distributed Map ResultWriter writes its result files (under backfills/) to the outputs bucket; CDK grants the bucket's objects.",
  },
  {
    rule: /^AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:.*RunStateMachine[0-9A-F]{8}.*\*\]$/,
    path: /\/BackfillStateMachine\/Role\/DefaultPolicy\/Resource$/,
    reason: "StartExecution.sync must describe and stop the run state machine's executions, whose names are generated.",
  },
  {
    rule: /^AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:.*BackfillStateMachine[0-9A-F]{8}.*\*\]$/,
    path: /\/BackfillStateMachine\/DistributedMapPolicy\/Resource$/,
    reason: 'The Distributed Map manages its own child executions, whose names are generated.',
  },
  {
    rule: /^AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:.*RunStateMachine[0-9A-F]{8}.*\*\]$/,
    path: /\/RunStateMachine\/DistributedMapPolicy\/Resource$/,
    reason:
      "The run state machine's own Distributed Map (one match task per blocking-key shard) describes and stops its child executions, whose names are generated; scoped to this state machine's executions only.",
  },
  {
    rule: BUCKET_OBJECTS,
    path: /\/Access\/Provider-[A-Za-z]+\/DefaultPolicy\/Resource$/,
    reason:
      'A provider writes only under its own source prefix in landing (<source>/<feed>/dt=<date>/<file>): feeds, dates and file names are known only when it uploads.',
  },
  {
    rule: BUCKET_OBJECTS,
    path: /\/Access\/LocalityReader-[A-Za-z0-9]+\/DefaultPolicy\/Resource$/,
    reason:
      'A locality reader reads only its own target-list files (as_at=*/target-lists/<locality>.csv, .xlsx, .html, " - open to statutory services.csv"; spaces matched by ?); the * is the as-at date of each run.',
  },
  {
    rule: BUCKET_OBJECTS,
    path: /\/Access\/InformationGovernance\/DefaultPolicy\/Resource$/,
    reason:
      "IG reads the match audit reports (as_at=*/match-audit/*) and published manifests (as_at=*/manifest.json) of every as-at date, the run manifest lines (run_manifests/*), the curated (pseudonymous) tables through Athena (which reads them with its caller's rights), and its own Athena results (results/*).",
  },
  {
    rule: /^AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table\/locality_pipeline\/\*\]$/,
    path: /\/Access\/InformationGovernance\/DefaultPolicy\/Resource$/,
    reason: "Read-only Glue catalog access to the tables of this pipeline's own database, for IG's Athena queries.",
  },
  {
    rule: /^AwsSolutions-IAM4\[Policy::arn:<AWS::Partition>:iam::aws:policy\/service-role\/AWSLambdaBasicExecutionRole\]$/,
    path: /\/BucketNotificationsHandler[0-9a-f]+\/Role\/Resource$/,
    reason:
      "CDK's own custom resource that turns on EventBridge notifications for the landing bucket; it only writes its logs.",
  },
];

/**
 * What an acknowledgement says: exactly what it covers (the construct, and the action or resource of the finding,
 * e.g. `Resource::<CuratedBucket...Arn>/scores/as_at=*\/*`), then why it is accepted.
 */
export function acknowledgementReason(rule: string, path: string, why: string): string {
  const what = /\[(.*)\]$/.exec(rule)?.[1];
  return `${path.split('/').slice(1).join('/')}${what ? ` (${what})` : ''}: ${why}`;
}

function findByPath(root: IConstruct, path: string): IConstruct | undefined {
  return root.node.findAll().find((c) => c.node.path === path);
}

/**
 * Acknowledges the findings that match ACCEPTED_FINDINGS; returns the ones that match nothing, and the rows that
 * matched no finding (an acceptance left behind after what it covered was removed: its reason no longer says what
 * it covers).
 */
export function acknowledgeAcceptedFindings(stack: Stack): {
  unmatched: Array<{ rule: string; path: string }>;
  unused: AcceptedFinding[];
} {
  const report = new AwsSolutionsChecks().validateScope(stack);
  const unmatched: Array<{ rule: string; path: string }> = [];
  const used = new Set<AcceptedFinding>();
  for (const v of report.violations) {
    for (const r of v.violatingResources) {
      const path = r.constructPath ?? '';
      const row = ACCEPTED_FINDINGS.find((a) => a.rule.test(v.ruleName) && a.path.test(path));
      const construct = row ? findByPath(stack, path) : undefined;
      if (!row || !construct) {
        unmatched.push({ rule: v.ruleName, path });
        continue;
      }
      used.add(row);
      Validations.of(construct).acknowledge({
        id: v.ruleName,
        reason: acknowledgementReason(v.ruleName, path, row.reason),
      });
    }
  }
  return { unmatched, unused: ACCEPTED_FINDINGS.filter((a) => !used.has(a)) };
}
