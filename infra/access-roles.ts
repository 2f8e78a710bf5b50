/**
 * Who may do what, besides the pipeline's own functions:
 *   - a provider upload role per source: PutObject under its own landing prefix only (`<source>/`), KMS encrypt only
 *     (kms:GenerateDataKey, kms:Encrypt: it can write but never read back what any provider sent);
 *   - a reader role per locality: GetObject on its own target-list files only, for every as-at date;
 *   - an IG role: the match audit reports and manifests, and the curated (pseudonymous) zone through Athena;
 *   - the secure zone's bucket policy: an explicit Deny of reads (and writes, deletes) to every principal but the
 *     stage roles that need them (TASK_DATA), so no role policy added later can open it.
 * Every role trusts this account's principals (the account root: IAM users / SSO roles with sts:AssumeRole on it).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { buildLocalityMap } from '../models/localities.ts';
import { SOURCES } from '../pipelines/feeds/catalogue.ts';
import { keys, MANIFEST_LINES_ROOT, TARGET_LISTS_DIR, TASK_DATA, type Zone } from '../pipelines/layout.ts';
import { localityFileName } from '../pipelines/reports/target-lists/build.ts';
import { REPO_ROOT } from './secure-defaults/functions.ts';

export interface AccessRolesProps {
  key: kms.IKey;
  buckets: Record<Zone | 'athenaResults', s3.Bucket>;
  /** The localities that get a reader role (default: the bundled fixtures/lookups/localities.json, plus Unassigned). */
  localities: string[];
  /** The stage roles, by task: the secure zone's bucket policy names the ones that read or write it. */
  stageRoles: Record<string, iam.IRole>;
  athena: { workgroupArn: string; glueArns: string[] };
}

/** The localities of the bundled ward-locality configuration, and the Unassigned list. */
export function defaultLocalities(): string[] {
  const file = join(REPO_ROOT, 'fixtures', 'lookups', 'localities.json');
  return [...buildLocalityMap(JSON.parse(readFileSync(file, 'utf8')), file).names, 'Unassigned'];
}

/** A role name part from a source or locality name (IAM: [A-Za-z0-9+=,.@_-]). */
const idOf = (name: string) => name.replace(/[^A-Za-z0-9]/g, '');

export class AccessRoles extends Construct {
  readonly providers: Record<string, iam.Role> = {};
  readonly localityReaders: Record<string, iam.Role> = {};
  readonly ig: iam.Role;

  constructor(scope: Construct, id: string, props: AccessRolesProps) {
    super(scope, id);
    const account = new iam.AccountRootPrincipal();
    const { landing, secure, curated, outputs, athenaResults } = props.buckets;
    const keyArn = props.key.keyArn;

    for (const source of SOURCES) {
      const role = new iam.Role(this, `Provider-${idOf(source)}`, {
        assumedBy: account,
        description: `Uploads ${source} extracts to landing ${source}/ (write only)`,
      });
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
          resources: [landing.arnForObjects(`${keys.landingPrefix(source, '*')}*`)],
        }),
      );
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Encrypt'], resources: [keyArn] }),
      );
      this.providers[source] = role;
    }

    for (const locality of props.localities) {
      const role = new iam.Role(this, `LocalityReader-${idOf(locality)}`, {
        assumedBy: account,
        description: `Reads the ${locality} target lists (its own files only)`,
      });
      const files = Object.values(keys.targetListFiles(localityFileName(locality)));
      // a space in a resource ARN is written `?` (one character): cdk-nag cannot acknowledge a finding whose id has spaces
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['s3:GetObject'],
          resources: files.map((f) =>
            outputs.arnForObjects(keys.output('*', `${TARGET_LISTS_DIR}${f}`).replaceAll(' ', '?')),
          ),
        }),
      );
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: [outputs.bucketArn],
          conditions: { StringLike: { 's3:prefix': files.map((f) => keys.output('*', `${TARGET_LISTS_DIR}${f}`)) } },
        }),
      );
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [keyArn] }));
      this.localityReaders[locality] = role;
    }

    this.ig = new iam.Role(this, 'InformationGovernance', {
      assumedBy: account,
      description: 'Information governance: match audit reports, manifests, curated tables through Athena',
    });
    this.ig.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [
          outputs.arnForObjects(keys.output('*', 'match-audit/*')),
          outputs.arnForObjects(keys.manifest('*')),
          outputs.arnForObjects(`${MANIFEST_LINES_ROOT}*`),
        ],
      }),
    );
    // the run_manifests table (Athena lists its partition folders in the outputs zone, nothing else there)
    this.ig.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [outputs.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${MANIFEST_LINES_ROOT}*`] } },
      }),
    );
    this.ig.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [curated.arnForObjects('*')] }),
    );
    this.ig.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket', 's3:GetBucketLocation'],
        resources: [curated.bucketArn, athenaResults.bucketArn],
      }),
    );
    this.ig.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
        resources: [athenaResults.arnForObjects('results/*')],
      }),
    );
    this.ig.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [
          'athena:StartQueryExecution',
          'athena:GetQueryExecution',
          'athena:GetQueryResults',
          'athena:StopQueryExecution',
          'athena:GetNamedQuery',
          'athena:ListNamedQueries',
          'athena:GetWorkGroup',
        ],
        resources: [props.athena.workgroupArn],
      }),
    );
    this.ig.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetTables', 'glue:GetPartition', 'glue:GetPartitions'],
        resources: props.athena.glueArns,
      }),
    );
    this.ig.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [keyArn] }),
    );

    this.fenceSecureZone(secure, props.stageRoles);
  }

  /** Deny every principal but the stage roles that TASK_DATA says read (write) the secure zone. */
  private fenceSecureZone(secure: s3.Bucket, stageRoles: Record<string, iam.IRole>): void {
    const rolesThat = (use: (u: NonNullable<(typeof TASK_DATA)[string]['secure']>) => boolean) =>
      Object.entries(TASK_DATA)
        .filter(([, d]) => d.secure && use(d.secure))
        .map(([task]) => {
          const role = stageRoles[task];
          if (!role) throw new Error(`secure zone: no role for task ${task}`);
          return role.roleArn;
        });
    const fence = (sid: string, actions: string[], allowed: string[]) =>
      secure.addToResourcePolicy(
        new iam.PolicyStatement({
          sid,
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions,
          resources: [secure.arnForObjects('*')],
          conditions: { ArnNotEquals: { 'aws:PrincipalArn': allowed } },
        }),
      );
    fence(
      'OnlyStageRolesRead',
      ['s3:GetObject', 's3:GetObjectVersion'],
      rolesThat((u) => (u.read?.length ?? 0) > 0),
    );
    fence(
      'OnlyStageRolesWrite',
      ['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion'],
      rolesThat((u) => (u.write?.length ?? 0) > 0 || (u.delete?.length ?? 0) > 0),
    );
  }
}
