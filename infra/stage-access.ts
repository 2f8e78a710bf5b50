/**
 * The S3 part of each function's IAM, derived from pipelines/layout.ts TASK_DATA (what each task reads, lists,
 * writes and deletes, as key patterns built from the same `keys` the stages use). Nothing here is a hand list:
 *   read     -> s3:GetObject on the object ARNs
 *   write    -> s3:PutObject + s3:AbortMultipartUpload
 *   delete   -> s3:DeleteObject
 *   list     -> s3:ListBucket with a StringLike s3:prefix condition on the listed prefixes and the read patterns
 *               (the S3 store tells a 403 for a missing key apart by listing that key)
 *   checksMissing -> s3:ListBucket on the bucket without a prefix condition (missing keys answer 404)
 * and the KMS key: Decrypt for reads, GenerateDataKey + Decrypt for writes.
 */
import { TASK_DATA, type TaskData, type Zone, type ZoneUse } from '../pipelines/layout.ts';

export interface S3Grant {
  zone: Zone;
  actions: string[];
  /** Object key patterns (IAM wildcards), or undefined for a bucket-level grant. */
  objects?: string[];
  /** s3:prefix patterns a ListBucket grant is limited to (undefined: the whole bucket). */
  prefixes?: string[];
}

/** `a/` covers everything under it (`a/*`); an exact key stays exact; '' is the whole bucket (`*`). */
export const iamPattern = (p: string): string => (p === '' || p.endsWith('/') ? `${p}*` : p);

function zoneGrants(zone: Zone, use: ZoneUse): S3Grant[] {
  const out: S3Grant[] = [];
  const objects = (ps: string[] | undefined) => [...new Set((ps ?? []).map(iamPattern))].sort();
  if (use.read?.length) out.push({ zone, actions: ['s3:GetObject'], objects: objects(use.read) });
  if (use.write?.length)
    out.push({ zone, actions: ['s3:PutObject', 's3:AbortMultipartUpload'], objects: objects(use.write) });
  if (use.delete?.length) out.push({ zone, actions: ['s3:DeleteObject'], objects: objects(use.delete) });
  if (use.checksMissing) out.push({ zone, actions: ['s3:ListBucket'] });
  else if (use.list?.length || use.read?.length)
    out.push({ zone, actions: ['s3:ListBucket'], prefixes: objects([...(use.list ?? []), ...(use.read ?? [])]) });
  return out;
}

export function s3GrantsOf(data: TaskData): S3Grant[] {
  return (Object.entries(data) as Array<[Zone, ZoneUse]>).flatMap(([zone, use]) => zoneGrants(zone, use));
}

/** The zones a task reads and the zones it writes (for its KMS grant). */
export function zonesOf(data: TaskData): { reads: Zone[]; writes: Zone[] } {
  const entries = Object.entries(data) as Array<[Zone, ZoneUse]>;
  return {
    reads: entries.filter(([, u]) => (u.read?.length ?? 0) > 0).map(([z]) => z),
    writes: entries.filter(([, u]) => (u.write?.length ?? 0) > 0).map(([z]) => z),
  };
}

export function taskData(task: string): TaskData {
  const d = TASK_DATA[task];
  if (!d) throw new Error(`no entry for task ${task} in pipelines/layout.ts TASK_DATA`);
  return d;
}
