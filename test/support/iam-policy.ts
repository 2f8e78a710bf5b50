/**
 * A small IAM policy evaluator over a synthesized CloudFormation template, for replaying a run's requests against
 * the policies the stack would deploy. It follows AWS's same-account evaluation logic:
 *   - an explicit Deny in any applicable policy (identity, bucket, key) wins;
 *   - S3: allowed if an identity policy of the role OR the bucket policy allows;
 *   - KMS: the key policy must allow, directly or by delegating to IAM (the account root principal), in which
 *     case an identity policy must allow too.
 * Intrinsics are resolved to stable names: a bucket's Ref/Arn is its logical id (arn:aws:s3:::<logicalId>), a role's
 * Arn is arn:aws:iam::<account>:role/<logicalId>, a key's arn:aws:kms:<region>:<account>:key/<logicalId>.
 * Conditions: String(Not)Equals/Like, Bool, Numeric*, Arn(Not)Equals/Like, each with IfExists; an operator it
 * does not know fails loudly rather than being guessed.
 */

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-2';

type Json = unknown;
interface Resource {
  Type: string;
  Properties?: Record<string, Json>;
}
export interface Template {
  Resources: Record<string, Resource>;
  Parameters?: Record<string, Json>;
}

export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: Json;
  NotResource?: Json;
  Principal?: Json;
  NotPrincipal?: Json;
  Condition?: Record<string, Record<string, Json>>;
}

export interface Request {
  /** The role's logical id in the template. */
  role: string;
  action: string;
  /** A concrete ARN, e.g. arn:aws:s3:::<bucketLogicalId>/as_at=2026-03-31/manifest.json */
  resource: string;
  /** Condition keys, e.g. { 's3:prefix': 'as_at=2026-03-31/' }; aws:SecureTransport and s3:TlsVersion are set for you. */
  context?: Record<string, string>;
}

export type Decision = { decision: 'allow' | 'explicit-deny' | 'implicit-deny'; by?: string };

const list = (v: Json): Json[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Resolves CloudFormation intrinsics to strings (see the file comment for the naming). */
export function resolve(t: Template, v: Json): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (!v || typeof v !== 'object') throw new Error(`cannot resolve ${JSON.stringify(v)}`);
  const o = v as Record<string, Json>;
  if ('Ref' in o) {
    const ref = String(o.Ref);
    if (ref === 'AWS::Partition') return 'aws';
    if (ref === 'AWS::Region') return REGION;
    if (ref === 'AWS::AccountId') return ACCOUNT;
    if (ref === 'AWS::URLSuffix') return 'amazonaws.com';
    if (ref === 'AWS::StackName') return 'LocalityPipeline';
    return ref; // a bucket's name, a parameter's value, a role's name: its logical id
  }
  if ('Fn::GetAtt' in o) {
    const [id, attr] = o['Fn::GetAtt'] as [string, string];
    const type = t.Resources[id]?.Type;
    if (attr !== 'Arn') return `${id}.${attr}`;
    switch (type) {
      case 'AWS::S3::Bucket':
        return `arn:aws:s3:::${id}`;
      case 'AWS::IAM::Role':
        return `arn:aws:iam::${ACCOUNT}:role/${id}`;
      case 'AWS::KMS::Key':
        return `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`;
      case 'AWS::Logs::LogGroup':
        return `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${id}:*`;
      case 'AWS::Lambda::Function':
        return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${id}`;
      default:
        return `arn:aws:${type ?? 'unknown'}:${REGION}:${ACCOUNT}:${id}`;
    }
  }
  if ('Fn::Join' in o) {
    const [sep, parts] = o['Fn::Join'] as [string, Json[]];
    return parts.map((p) => resolve(t, p)).join(sep);
  }
  if ('Fn::Sub' in o) {
    const s = o['Fn::Sub'];
    const [text, vars] = (Array.isArray(s) ? s : [s, {}]) as [string, Record<string, Json>];
    return text.replace(/\$\{([^}]+)\}/g, (_m, name: string) =>
      name in vars
        ? resolve(t, vars[name])
        : resolve(t, name.includes('.') ? { 'Fn::GetAtt': name.split('.') } : { Ref: name }),
    );
  }
  throw new Error(`cannot resolve intrinsic ${JSON.stringify(v).slice(0, 200)}`);
}

/** IAM wildcard match: * any run of characters (including /), ? one character. Actions are case-insensitive. */
export function wildcard(pattern: string, value: string, caseInsensitive = false): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    caseInsensitive ? 'is' : 's',
  );
  return re.test(value);
}

type Op = (policyValues: string[], value: string) => boolean;
const OPERATORS: Record<string, { op: Op; negated: boolean }> = {
  StringEquals: { op: (ps, v) => ps.includes(v), negated: false },
  StringNotEquals: { op: (ps, v) => !ps.includes(v), negated: true },
  StringEqualsIgnoreCase: { op: (ps, v) => ps.some((p) => p.toLowerCase() === v.toLowerCase()), negated: false },
  StringLike: { op: (ps, v) => ps.some((p) => wildcard(p, v)), negated: false },
  StringNotLike: { op: (ps, v) => !ps.some((p) => wildcard(p, v)), negated: true },
  Bool: { op: (ps, v) => ps.some((p) => p.toLowerCase() === v.toLowerCase()), negated: false },
  NumericLessThan: { op: (ps, v) => ps.some((p) => Number(v) < Number(p)), negated: false },
  NumericLessThanEquals: { op: (ps, v) => ps.some((p) => Number(v) <= Number(p)), negated: false },
  NumericGreaterThan: { op: (ps, v) => ps.some((p) => Number(v) > Number(p)), negated: false },
  NumericEquals: { op: (ps, v) => ps.some((p) => Number(v) === Number(p)), negated: false },
  ArnEquals: { op: (ps, v) => ps.some((p) => wildcard(p, v)), negated: false },
  ArnLike: { op: (ps, v) => ps.some((p) => wildcard(p, v)), negated: false },
  ArnNotEquals: { op: (ps, v) => !ps.some((p) => wildcard(p, v)), negated: true },
  ArnNotLike: { op: (ps, v) => !ps.some((p) => wildcard(p, v)), negated: true },
};

function conditionHolds(t: Template, cond: Statement['Condition'], context: Record<string, string>): boolean {
  for (const [rawOp, entries] of Object.entries(cond ?? {})) {
    const ifExists = rawOp.endsWith('IfExists');
    const name = ifExists ? rawOp.slice(0, -'IfExists'.length) : rawOp;
    const operator = OPERATORS[name];
    if (!operator) throw new Error(`policy evaluator: condition operator ${rawOp} is not supported`);
    for (const [key, values] of Object.entries(entries)) {
      const present = Object.hasOwn(context, key);
      // a key absent from the request: IfExists and negated operators hold, the others do not
      if (!present) {
        if (ifExists || operator.negated) continue;
        return false;
      }
      if (
        !operator.op(
          list(values).map((x) => resolve(t, x)),
          context[key]!,
        )
      )
        return false;
    }
  }
  return true;
}

const actionMatches = (t: Template, s: Statement, action: string) =>
  s.NotAction !== undefined
    ? !list(s.NotAction).some((a) => wildcard(resolve(t, a), action, true))
    : list(s.Action).some((a) => wildcard(resolve(t, a), action, true));
const resourceMatches = (t: Template, s: Statement, resource: string) =>
  s.NotResource !== undefined
    ? !list(s.NotResource).some((r) => wildcard(resolve(t, r), resource))
    : list(s.Resource).some((r) => wildcard(resolve(t, r), resource));

/** Whether a resource policy statement's Principal names the role (directly, by account root, or '*'). */
function principalMatches(t: Template, s: Statement, roleArn: string, allowAccountRoot: boolean): boolean {
  const named = (p: Json): string[] => {
    if (p === '*') return ['*'];
    if (p && typeof p === 'object') return list((p as Record<string, Json>).AWS).map((x) => resolve(t, x));
    return [];
  };
  if (s.NotPrincipal !== undefined) return !named(s.NotPrincipal).some((p) => p === roleArn);
  return named(s.Principal).some(
    (p) => p === '*' || p === roleArn || (allowAccountRoot && p === `arn:aws:iam::${ACCOUNT}:root`),
  );
}

function statementsOf(doc: Json): Statement[] {
  return list((doc as { Statement?: Json } | undefined)?.Statement) as Statement[];
}

/** Every identity-policy statement attached to a role: its inline policies, AWS::IAM::Policy and managed policies. */
export function identityStatements(t: Template, role: string): Statement[] {
  const out: Statement[] = [];
  const r = t.Resources[role];
  if (!r || r.Type !== 'AWS::IAM::Role') throw new Error(`no role ${role} in the template`);
  for (const p of list(r.Properties?.Policies))
    out.push(...statementsOf((p as { PolicyDocument: Json }).PolicyDocument));
  for (const res of Object.values(t.Resources)) {
    if (res.Type !== 'AWS::IAM::Policy' && res.Type !== 'AWS::IAM::ManagedPolicy') continue;
    if (list(res.Properties?.Roles).some((x) => resolve(t, x) === role))
      out.push(...statementsOf(res.Properties?.PolicyDocument));
  }
  if (list(r.Properties?.ManagedPolicyArns).length > 0) {
    for (const arn of list(r.Properties?.ManagedPolicyArns)) {
      const id = typeof arn === 'object' && arn && 'Ref' in arn ? String((arn as { Ref: string }).Ref) : '';
      if (!t.Resources[id])
        throw new Error(
          `role ${role}: managed policy ${JSON.stringify(arn)} is outside the template (cannot evaluate)`,
        );
    }
  }
  return out;
}

function bucketPolicyStatements(t: Template, bucketId: string): Statement[] {
  return Object.values(t.Resources)
    .filter((r) => r.Type === 'AWS::S3::BucketPolicy' && resolve(t, r.Properties?.Bucket) === bucketId)
    .flatMap((r) => statementsOf(r.Properties?.PolicyDocument));
}

interface Applicable {
  s: Statement;
  from: string;
}

function matching(
  t: Template,
  stmts: Applicable[],
  req: Request,
  ctx: Record<string, string>,
  effect: 'Allow' | 'Deny',
): Applicable | undefined {
  return stmts.find(
    ({ s }) =>
      s.Effect === effect &&
      actionMatches(t, s, req.action) &&
      resourceMatches(t, s, req.resource) &&
      conditionHolds(t, s.Condition, ctx),
  );
}

const describe = (a: Applicable) => `${a.from}${a.s.Sid ? ` (${a.s.Sid})` : ''}`;

export function evaluate(t: Template, req: Request): Decision {
  const roleArn = `arn:aws:iam::${ACCOUNT}:role/${req.role}`;
  const ctx = { 'aws:SecureTransport': 'true', 's3:TlsVersion': '1.3', 'aws:PrincipalArn': roleArn, ...req.context };
  const identity: Applicable[] = identityStatements(t, req.role).map((s) => ({
    s,
    from: `identity policy of ${req.role}`,
  }));
  let resourcePolicy: Applicable[] = [];
  if (req.action.toLowerCase().startsWith('s3:')) {
    const bucket = /^arn:aws:s3:::([^/]+)/.exec(req.resource)?.[1];
    if (!bucket) throw new Error(`not an S3 ARN: ${req.resource}`);
    resourcePolicy = bucketPolicyStatements(t, bucket)
      .filter((s) => principalMatches(t, s, roleArn, false))
      .map((s) => ({ s, from: `bucket policy of ${bucket}` }));
  } else if (req.action.toLowerCase().startsWith('kms:')) {
    const key = /key\/([^/]+)$/.exec(req.resource)?.[1];
    const keyPolicy = statementsOf(t.Resources[key ?? '']?.Properties?.KeyPolicy);
    const direct = keyPolicy
      .filter((s) => principalMatches(t, s, roleArn, false))
      .map((s) => ({ s, from: `key policy of ${key}` }));
    const root = keyPolicy
      .filter((s) => principalMatches(t, s, roleArn, true) && !direct.some((d) => d.s === s))
      .map((s) => ({ s, from: `key policy of ${key} (account root: IAM decides)` }));
    const deny = matching(t, [...direct, ...root, ...identity], req, ctx, 'Deny');
    if (deny) return { decision: 'explicit-deny', by: describe(deny) };
    const allowDirect = matching(t, direct, req, ctx, 'Allow');
    if (allowDirect) return { decision: 'allow', by: describe(allowDirect) };
    const viaKeyPolicyDelegation = matching(t, root, req, ctx, 'Allow') !== undefined;
    const allowIdentity = viaKeyPolicyDelegation ? matching(t, identity, req, ctx, 'Allow') : undefined;
    return allowIdentity ? { decision: 'allow', by: describe(allowIdentity) } : { decision: 'implicit-deny' };
  }
  const deny = matching(t, [...identity, ...resourcePolicy], req, ctx, 'Deny');
  if (deny) return { decision: 'explicit-deny', by: describe(deny) };
  const allow = matching(t, [...identity, ...resourcePolicy], req, ctx, 'Allow');
  return allow ? { decision: 'allow', by: describe(allow) } : { decision: 'implicit-deny' };
}

/** The role a Lambda function runs as (logical id). */
export function roleOfFunction(t: Template, functionId: string): string {
  const role = t.Resources[functionId]?.Properties?.Role;
  const m =
    role && typeof role === 'object' && 'Fn::GetAtt' in role
      ? (role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0]
      : undefined;
  if (!m) throw new Error(`function ${functionId}: no role in the template`);
  return m;
}

/** The KMS key (logical id) that encrypts a bucket by default. */
export function bucketKey(t: Template, bucketId: string): string | undefined {
  const enc = JSON.stringify(t.Resources[bucketId]?.Properties?.BucketEncryption ?? {});
  return /"Fn::GetAtt":\["([^"]+)","Arn"\]/.exec(enc)?.[1];
}

export const logicalIdsOf = (t: Template, type: string): string[] =>
  Object.entries(t.Resources)
    .filter(([, r]) => r.Type === type)
    .map(([id]) => id);
