/**
 * The one place bucket defaults live (Solutions Constructs style): every bucket of the stack is a SecureBucket.
 * SSE-KMS with the stack's key (bucket keys on), TLS enforced by policy, public access blocked, ACLs disabled,
 * versioned, server access logs to the access-log bucket, retained on stack deletion.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface SecureBucketProps {
  key: kms.IKey;
  /** Where this bucket's server access logs go (omit only for the access-log bucket itself). */
  accessLogs?: s3.IBucket;
  /** Object Lock in governance mode with this default retention (landing: evidence of what was received). */
  objectLockGovernanceDays?: number;
  /** Send object events to EventBridge (landing: the `_READY` trigger). */
  eventBridge?: boolean;
  /** Expire noncurrent versions after this many days (default 90). */
  noncurrentVersionDays?: number;
  /** Expire current versions after this many days (clear data: landing, secure; infra/retention.ts). */
  expireAfterDays?: number;
}

export class SecureBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: SecureBucketProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      ...(props.accessLogs
        ? { serverAccessLogsBucket: props.accessLogs, serverAccessLogsPrefix: `${id.toLowerCase()}/` }
        : {}),
      ...(props.objectLockGovernanceDays
        ? {
            objectLockEnabled: true,
            objectLockDefaultRetention: s3.ObjectLockRetention.governance(
              Duration.days(props.objectLockGovernanceDays),
            ),
          }
        : {}),
      ...(props.eventBridge ? { eventBridgeEnabled: true } : {}),
      lifecycleRules: [
        { id: 'noncurrent-versions', noncurrentVersionExpiration: Duration.days(props.noncurrentVersionDays ?? 90) },
        { id: 'abort-incomplete-multipart', abortIncompleteMultipartUploadAfter: Duration.days(2) },
        ...(props.expireAfterDays
          ? [{ id: 'expire-clear-data', expiration: Duration.days(props.expireAfterDays) }]
          : []),
      ],
    });
  }
}

/**
 * The access-log bucket: S3 server access logging cannot deliver to a KMS-CMK bucket, so it uses SSE-S3
 * (the one exception, acknowledged in the stack); everything else as above.
 */
export class AccessLogBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        { id: 'expire-logs', expiration: Duration.days(400), noncurrentVersionExpiration: Duration.days(30) },
      ],
    });
  }
}
