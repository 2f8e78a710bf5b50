/**
 * How long clear data is kept: landing (provider extracts, clear identifiers) and the secure match zone (clear
 * quasi-identifiers). Current versions expire after these many days (then the noncurrent-version rule removes them);
 * CDK context key `retentionDays`, e.g. `-c retentionDays='{"secure":90}'`. Landing must outlive its Object Lock
 * (365 days, governance): a locked version cannot be removed before.
 */
import { z } from 'zod';
import { issuesText } from '../models/zod-issues.ts';

export const LANDING_OBJECT_LOCK_DAYS = 365;

export const retentionSchema = z
  .object({
    landing: z
      .number()
      .int()
      .min(LANDING_OBJECT_LOCK_DAYS, `must be at least the landing Object Lock (${LANDING_OBJECT_LOCK_DAYS} days)`)
      .default(400),
    secure: z.number().int().min(1).max(3650).default(180),
  })
  .strict();
export type Retention = z.infer<typeof retentionSchema>;

export function resolveRetention(raw: unknown): Retention {
  let v = raw ?? {};
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch (err) {
      throw new Error(`context "retentionDays": not JSON (${(err as Error).message})`, { cause: err });
    }
  }
  const r = retentionSchema.safeParse(v);
  if (!r.success) throw new Error(`context "retentionDays": ${issuesText(r.error)}`);
  return r.data;
}
