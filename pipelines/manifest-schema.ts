/**
 * The run manifest's shape (one per run: its inputs, config, stages, outputs, release), as a zod schema and types.
 * Apart from manifest.ts (which prepares, finalises and reads runs) so the modules manifest.ts itself uses (the
 * release, the run outputs, the manifest's JSON) can name the types without importing it back.
 */
import { z } from 'zod';
import { isIsoDate } from './layout.ts';

export const MANIFEST_VERSION = 1;

export const isoDate = z.string().refine(isIsoDate, { message: 'must be a real date YYYY-MM-DD' });

// ---- the manifest ----------------------------------------------------------------------------------

export const stageRecordSchema = z.object({
  name: z.string(),
  status: z.enum(['ok', 'failed', 'not-run']),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  durationMs: z.number().optional(),
  /** Map stages: how many items (feeds) ran. */
  items: z.number().optional(),
  counts: z.record(z.string(), z.number()),
  /**
   * When an earlier execution of the same run had finished some of this stage (pipelines/stage-records.ts):
   * how many invocations were reused (outputs verified) and how many ran again, with why.
   */
  resume: z.object({ reused: z.number(), reran: z.number(), why: z.array(z.string()) }).optional(),
});
export type StageRecord = z.infer<typeof stageRecordSchema>;

export const signoffSchema = z.object({
  decision: z.enum(['approve', 'reject']),
  /** A member of staff (IG officer), not a data subject. */
  by: z.string().min(1),
  at: z.string(),
  note: z.string(),
});

export const releaseRecordSchema = z.object({
  state: z.enum(['awaiting-signoff', 'released', 'rejected', 'not-released']),
  /** When the state was reached. */
  at: z.string(),
  /** The run's staged set (secure zone) while it is not released. */
  staged: z.string().optional(),
  signoff: signoffSchema.optional(),
});
export type ReleaseRecord = z.infer<typeof releaseRecordSchema>;

export const manifestSchema = z.object({
  manifestVersion: z.literal(MANIFEST_VERSION),
  runId: z.string(),
  asAt: isoDate,
  status: z.enum(['running', 'ok', 'failed']),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  ranBy: z.string(),
  codeVersion: z.string(),
  config: z.object({ version: z.string(), sha256: z.string(), value: z.unknown() }),
  ruleSetVersion: z.string().optional(),
  /** The latest earlier as-at run that completed when this run was prepared (see history.ts); absent on a first run. */
  previousRun: z.object({ asAt: isoDate, runId: z.string() }).optional(),
  inputs: z.array(
    z.object({
      key: z.string(),
      source: z.string(),
      feed: z.string(),
      extractDate: z.string(),
      sha256: z.string(),
      bytes: z.number(),
      rows: z.number().optional(),
      accepted: z.number().optional(),
      quarantined: z.number().optional(),
      rejectedRows: z.number().optional(),
      status: z.enum(['accepted', 'rejected']).optional(),
      reason: z.string().optional(),
    }),
  ),
  /** Every landing entry accounted for (feeds/landing.ts): totals, and each entry not read with its reason. */
  landing: z
    .object({
      objects: z.number(),
      read: z.number(),
      rejected: z.number(),
      ignored: z.number(),
      notRead: z.array(
        z.object({ key: z.string(), outcome: z.enum(['rejected', 'ignored']), reason: z.string(), detail: z.string() }),
      ),
    })
    .optional(),
  stages: z.array(stageRecordSchema),
  error: z.object({ stage: z.string(), error: z.string(), cause: z.string() }).optional(),
  /**
   * Every object the run left for its date with its SHA-256 (secure `as_at=D/` but staging, each curated table's
   * `as_at=D/`, the published set but its manifest and marker): "already done" is said only if all still match.
   */
  outputs: z
    .array(
      z.object({
        zone: z.enum(['secure', 'curated', 'outputs']),
        key: z.string(),
        sha256: z.string(),
        bytes: z.number(),
      }),
    )
    .optional(),
  /** Set when a finished run was run again because its outputs no longer matched its manifest. */
  redoneBecause: z
    .object({ checked: z.number(), missing: z.array(z.string()), changed: z.array(z.string()) })
    .optional(),
  /** Where the run's outputs are: staged (secure zone), awaiting IG sign-off, released (the published set), rejected, not released (failed). */
  release: releaseRecordSchema.optional(),
});
export type Manifest = z.infer<typeof manifestSchema>;
