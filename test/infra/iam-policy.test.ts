/** The policy evaluator the policy-replay test relies on: each rule it applies, including the cases that must deny. */
import { describe, expect, it } from 'vitest';
import { ACCOUNT, evaluate, resolve, wildcard, type Statement, type Template } from '../support/iam-policy.ts';

const bucketArn = { 'Fn::GetAtt': ['SecureBucketAB12', 'Arn'] };
const objects = (suffix: string) => ({ 'Fn::Join': ['', [bucketArn, suffix]] });
const roleArn = (id: string) => `arn:aws:iam::${ACCOUNT}:role/${id}`;

function template(
  identity: Statement[],
  bucketPolicy: Statement[] = [],
  keyPolicy: Statement[] = [
    {
      Effect: 'Allow',
      Principal: {
        AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] },
      },
      Action: 'kms:*',
      Resource: '*',
    },
  ],
): Template {
  return {
    Resources: {
      SecureBucketAB12: {
        Type: 'AWS::S3::Bucket',
        Properties: {
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [
              { ServerSideEncryptionByDefault: { KMSMasterKeyID: { 'Fn::GetAtt': ['Key1', 'Arn'] } } },
            ],
          },
        },
      },
      Key1: { Type: 'AWS::KMS::Key', Properties: { KeyPolicy: { Statement: keyPolicy } } },
      RoleA: { Type: 'AWS::IAM::Role', Properties: {} },
      RoleB: { Type: 'AWS::IAM::Role', Properties: {} },
      PolicyA: {
        Type: 'AWS::IAM::Policy',
        Properties: { Roles: [{ Ref: 'RoleA' }], PolicyDocument: { Statement: identity } },
      },
      BucketPolicy: {
        Type: 'AWS::S3::BucketPolicy',
        Properties: { Bucket: { Ref: 'SecureBucketAB12' }, PolicyDocument: { Statement: bucketPolicy } },
      },
    },
  };
}

const get = (key: string, role = 'RoleA') => ({
  role,
  action: 's3:GetObject',
  resource: `arn:aws:s3:::SecureBucketAB12/${key}`,
});
const listReq = (prefix?: string, role = 'RoleA') => ({
  role,
  action: 's3:ListBucket',
  resource: 'arn:aws:s3:::SecureBucketAB12',
  ...(prefix === undefined ? {} : { context: { 's3:prefix': prefix } }),
});

describe('IAM policy evaluator', () => {
  it('resolves Fn::Join / Fn::GetAtt / Ref to logical-id ARNs', () => {
    const t = template([]);
    expect(resolve(t, objects('/as_at=*/validated/*'))).toBe('arn:aws:s3:::SecureBucketAB12/as_at=*/validated/*');
    expect(resolve(t, { 'Fn::GetAtt': ['RoleA', 'Arn'] })).toBe(roleArn('RoleA'));
    expect(resolve(t, { 'Fn::GetAtt': ['Key1', 'Arn'] })).toBe(`arn:aws:kms:eu-west-2:${ACCOUNT}:key/Key1`);
    expect(() => resolve(t, { 'Fn::ImportValue': 'x' })).toThrow('cannot resolve intrinsic');
  });

  it('wildcards: * spans slashes, ? is one character, actions ignore case', () => {
    expect(wildcard('as_at=*/validated/*', 'as_at=2026-03-31/validated/police/people/x.parquet')).toBe(true);
    expect(wildcard('as_at=*/validated/*', 'as_at=2026-03-31/person-records.parquet')).toBe(false);
    expect(wildcard('s3:Get*', 's3:getobject', true)).toBe(true);
    expect(wildcard('a?c', 'abc')).toBe(true);
    expect(wildcard('a?c', 'abbc')).toBe(false);
  });

  it('allows only what a statement covers; everything else is an implicit deny', () => {
    const t = template([{ Effect: 'Allow', Action: 's3:GetObject', Resource: objects('/as_at=*/validated/*') }]);
    expect(evaluate(t, get('as_at=2026-03-31/validated/a.parquet')).decision).toBe('allow');
    expect(evaluate(t, get('as_at=2026-03-31/person-records.parquet')).decision).toBe('implicit-deny');
    expect(evaluate(t, { ...get('as_at=2026-03-31/validated/a.parquet'), action: 's3:PutObject' }).decision).toBe(
      'implicit-deny',
    );
    expect(evaluate(t, get('as_at=2026-03-31/validated/a.parquet', 'RoleB')).decision).toBe('implicit-deny');
  });

  it('s3:prefix conditions: a list inside the prefix is allowed, outside or without a prefix (a missing-key check) is not', () => {
    const t = template([
      {
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: bucketArn,
        Condition: { StringLike: { 's3:prefix': ['as_at=*/validated/*'] } },
      },
    ]);
    expect(evaluate(t, listReq('as_at=2026-03-31/validated/police/')).decision).toBe('allow');
    expect(evaluate(t, listReq('as_at=2026-03-31/quarantine/')).decision).toBe('implicit-deny');
    expect(evaluate(t, listReq(undefined)).decision).toBe('implicit-deny');
    const eq = template([
      {
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: bucketArn,
        Condition: { StringEquals: { 's3:prefix': 'lookups/' } },
      },
    ]);
    expect(evaluate(eq, listReq('lookups/')).decision).toBe('allow');
    expect(evaluate(eq, listReq('lookups/x')).decision).toBe('implicit-deny');
    const ifExists = template([
      {
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: bucketArn,
        Condition: { StringLikeIfExists: { 's3:prefix': ['a/*'] } },
      },
    ]);
    expect(evaluate(ifExists, listReq(undefined)).decision).toBe('allow');
    expect(evaluate(ifExists, listReq('b/')).decision).toBe('implicit-deny');
  });

  it('an explicit deny wins over any allow, in the identity or the bucket policy', () => {
    const allowAll: Statement = { Effect: 'Allow', Action: 's3:*', Resource: objects('/*') };
    const t = template([
      allowAll,
      { Effect: 'Deny', Action: 's3:GetObject', Resource: objects('/as_at=*/person-records.parquet') },
    ]);
    expect(evaluate(t, get('as_at=2026-03-31/person-records.parquet')).decision).toBe('explicit-deny');
    expect(evaluate(t, get('as_at=2026-03-31/validated/x')).decision).toBe('allow');
    // a bucket policy denying every principal but the named roles
    const fenced = template(
      [allowAll],
      [
        {
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: 's3:GetObject',
          Resource: objects('/*'),
          Condition: { ArnNotEquals: { 'aws:PrincipalArn': [{ 'Fn::GetAtt': ['RoleB', 'Arn'] }] } },
        },
      ],
    );
    expect(evaluate(fenced, get('as_at=2026-03-31/validated/x')).decision).toBe('explicit-deny');
    // the TLS guard of every bucket: denies only requests without TLS
    const tls = template(
      [allowAll],
      [
        {
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: 's3:*',
          Resource: [bucketArn, objects('/*')],
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        },
      ],
    );
    expect(evaluate(tls, get('k')).decision).toBe('allow');
    expect(evaluate(tls, { ...get('k'), context: { 'aws:SecureTransport': 'false' } }).decision).toBe('explicit-deny');
  });

  it('a bucket policy can allow on its own in the same account', () => {
    const t = template(
      [],
      [
        {
          Effect: 'Allow',
          Principal: { AWS: { 'Fn::GetAtt': ['RoleB', 'Arn'] } },
          Action: 's3:GetObject',
          Resource: objects('/outputs/*'),
        },
      ],
    );
    expect(evaluate(t, get('outputs/x', 'RoleB')).decision).toBe('allow');
    expect(evaluate(t, get('outputs/x', 'RoleA')).decision).toBe('implicit-deny');
  });

  it('KMS: the key policy delegating to the account needs an identity allow; a direct key-policy grant is enough; conditions apply', () => {
    const keyArn = `arn:aws:kms:eu-west-2:${ACCOUNT}:key/Key1`;
    const kms = (action: string, role = 'RoleA', context?: Record<string, string>) => ({
      role,
      action,
      resource: keyArn,
      ...(context ? { context } : {}),
    });
    const t = template([{ Effect: 'Allow', Action: ['kms:Decrypt'], Resource: { 'Fn::GetAtt': ['Key1', 'Arn'] } }]);
    expect(evaluate(t, kms('kms:Decrypt')).decision).toBe('allow');
    expect(evaluate(t, kms('kms:GenerateDataKey')).decision).toBe('implicit-deny');
    const noDelegation = template([{ Effect: 'Allow', Action: ['kms:Decrypt'], Resource: '*' }], [], []);
    expect(evaluate(noDelegation, kms('kms:Decrypt')).decision).toBe('implicit-deny');
    const logs = template(
      [],
      [],
      [
        {
          Effect: 'Allow',
          Principal: { AWS: { 'Fn::GetAtt': ['RoleB', 'Arn'] } },
          Action: 'kms:Encrypt*',
          Resource: '*',
          Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': 'arn:aws:logs:eu-west-2:*:log-group:*' } },
        },
      ],
    );
    expect(
      evaluate(
        logs,
        kms('kms:Encrypt', 'RoleB', { 'kms:EncryptionContext:aws:logs:arn': 'arn:aws:logs:eu-west-2:1:log-group:x' }),
      ).decision,
    ).toBe('allow');
    expect(evaluate(logs, kms('kms:Encrypt', 'RoleB')).decision).toBe('implicit-deny');
  });

  it('refuses to guess an operator it does not know', () => {
    const t = template([
      {
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: bucketArn,
        Condition: { DateLessThan: { 'aws:CurrentTime': '2030-01-01' } },
      },
    ]);
    expect(() => evaluate(t, listReq('x'))).toThrow('DateLessThan is not supported');
  });
});
