/**
 * Lambda sizing per task: memory, ephemeral storage (/tmp) and timeout. Configuration, not code: the defaults below
 * fit 100,000 families with at least 2x headroom over what `npm run bench:lambda-sizing` measured in the Lambda code
 * path (docs/operations.md, "Lambda sizing"); a deployment overrides any of them with the CDK context key
 * `sizing`, e.g. `cdk deploy -c sizing='{"match":{"memoryMiB":8192}}'` or a "sizing" entry in cdk.context.json.
 * The context value is validated: a bad value fails synthesis naming the task and field.
 */
import { z } from 'zod';
import { issuesText } from '../models/zod-issues.ts';

/** Lambda's limits: memory 128-10,240 MB, /tmp 512-10,240 MB, timeout up to 15 minutes. */
export const taskSizingSchema = z
  .object({
    memoryMiB: z.number().int().min(128).max(10_240),
    ephemeralStorageMiB: z.number().int().min(512).max(10_240),
    timeoutMinutes: z.number().int().min(1).max(15),
  })
  .strict();
export type TaskSizing = z.infer<typeof taskSizingSchema>;

const small: TaskSizing = { memoryMiB: 512, ephemeralStorageMiB: 512, timeoutMinutes: 5 };

/** Defaults for 100k families (measured peaks and the headroom they leave: docs/operations.md). */
export const DEFAULT_SIZING = {
  prepare: { memoryMiB: 1024, ephemeralStorageMiB: 512, timeoutMinutes: 10 },
  validate: { memoryMiB: 2048, ephemeralStorageMiB: 2048, timeoutMinutes: 15 },
  standardise: { memoryMiB: 6144, ephemeralStorageMiB: 4096, timeoutMinutes: 15 },
  match: { memoryMiB: 8192, ephemeralStorageMiB: 4096, timeoutMinutes: 15 },
  families: { memoryMiB: 8192, ephemeralStorageMiB: 10_240, timeoutMinutes: 15 },
  stratify: { memoryMiB: 4096, ephemeralStorageMiB: 2048, timeoutMinutes: 15 },
  publish: { memoryMiB: 8192, ephemeralStorageMiB: 4096, timeoutMinutes: 15 },
  finalise: small,
  'record-failure': small,
  'backfill-plan': small,
} as const satisfies Record<string, TaskSizing>;
export type SizedTask = keyof typeof DEFAULT_SIZING;

export const sizingOverrideSchema = z
  .object(
    Object.fromEntries(Object.keys(DEFAULT_SIZING).map((t) => [t, taskSizingSchema.partial().optional()])) as Record<
      SizedTask,
      z.ZodOptional<z.ZodObject<{ [K in keyof TaskSizing]: z.ZodOptional<z.ZodNumber> }>>
    >,
  )
  .strict();

/** The sizing of every task: defaults with the context's overrides (a JSON string or an object) applied. */
export function resolveSizing(override: unknown): Record<SizedTask, TaskSizing> {
  let raw = override ?? {};
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch (err) {
      throw new Error(`context "sizing": not JSON (${(err as Error).message})`, { cause: err });
    }
  }
  const parsed = sizingOverrideSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`context "sizing": ${issuesText(parsed.error)}`);
  const out = {} as Record<SizedTask, TaskSizing>;
  for (const task of Object.keys(DEFAULT_SIZING) as SizedTask[])
    out[task] = { ...DEFAULT_SIZING[task], ...parsed.data[task] };
  return out;
}
