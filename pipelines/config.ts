/**
 * Run configuration: data, validated on load, versioned. Each section's schema lives with the code
 * that uses it; this file only composes them. A config's SHA-256 goes into the run id and manifest.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { familiesConfigSchema } from '../matching/families/config.ts';
import { stratifyConfigSchema } from '../models/config.ts';
import { configError, explainIssues } from './config-errors.ts';
import { publishConfigSchema } from './reports/publish-config.ts';
import { linkageConfigSchema } from './stages/match-config.ts';
import { shardingConfigSchema } from './stages/sharding.ts';

/**
 * Validates a section strictly with its owner's schema on load (errors name the field; an unknown key names the
 * nearest valid one), keeping the section as written (the config's hash is of what the user wrote).
 */
function checkedBy(schema: z.ZodType) {
  return (v: unknown, ctx: z.RefinementCtx) => {
    const r = schema.safeParse(v);
    if (!r.success)
      for (const i of explainIssues(schema, r.error.issues))
        ctx.addIssue({ code: 'custom', message: i.message, path: i.path as PropertyKey[] });
  };
}

export const validateConfigSchema = z.strictObject({
  /** Exact duplicate rows within one file: kept (and counted) or quarantined as duplicates. */
  exactDuplicates: z.enum(['keep', 'quarantine']).default('quarantine'),
  /** A file that cannot be read as its feed is rejected whole and recorded; 'fail' also fails the stage. */
  onRejectedFile: z.enum(['continue', 'fail']).default('continue'),
});

/** Strict at every level: an unknown key anywhere is an error (with its path and the nearest valid key). */
export const runConfigSchema = z.strictObject({
  /** Free text, e.g. "manchester-2026.1", written to every manifest. */
  configVersion: z.string().default('default'),
  validate: validateConfigSchema.default({ exactDuplicates: 'quarantine', onRejectedFile: 'continue' }),
  /** Linkage settings (pipelines/stages/match-config.ts, matching/settings.ts). */
  linkage: z.looseObject({}).default({}).superRefine(checkedBy(linkageConfigSchema)),
  /** Family-unit settings (matching/families/config.ts). */
  families: z.looseObject({}).default({}).superRefine(checkedBy(familiesConfigSchema)),
  /** Risk stratification (models/config.ts): rule set, tiers, localities. */
  stratify: z.looseObject({}).default({}).superRefine(checkedBy(stratifyConfigSchema)),
  /** Publishing (pipelines/reports/publish-config.ts): disclosure control for aggregates, Start Well. */
  publish: z.looseObject({}).default({}).superRefine(checkedBy(publishConfigSchema)),
  /** Shard budgets of the sharded stages (pipelines/stages/sharding.ts); absent: the defaults, and no change to the hash. */
  sharding: shardingConfigSchema.optional(),
});
export type RunConfig = z.infer<typeof runConfigSchema>;

export function defaultRunConfig(): RunConfig {
  return runConfigSchema.parse({});
}

/** Parses a run config (already read), strictly; one error listing every issue, naming `origin`. */
export function parseRunConfig(raw: unknown, origin: string): RunConfig {
  const parsed = runConfigSchema.safeParse(raw);
  if (!parsed.success) throw configError(origin, runConfigSchema, parsed.error);
  return parsed.data;
}

export async function loadRunConfig(path: string | undefined): Promise<RunConfig> {
  if (!path) return defaultRunConfig();
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new Error(`config ${path}: cannot read as JSON (${(err as Error).message})`, { cause: err });
  }
  return parseRunConfig(raw, `config ${path}`);
}
