/**
 * Run configuration: data, validated on load, versioned. Each section's schema lives with the code
 * that uses it; this file only composes them. A config's SHA-256 goes into the run id and manifest.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { familiesConfigSchema } from '../matching/families/config.ts';
import { stratifyConfigSchema } from '../models/config.ts';

/** Validates a section with its owner's schema on load (errors name the field), keeping the section as written. */
function checkedBy(schema: z.ZodType) {
  return (v: unknown, ctx: z.RefinementCtx) => {
    const r = schema.safeParse(v);
    if (!r.success) for (const i of r.error.issues) ctx.addIssue({ code: 'custom', message: i.message, path: i.path as PropertyKey[] });
  };
}

export const runConfigSchema = z.object({
  /** Free text, e.g. "manchester-2026.1", written to every manifest. */
  configVersion: z.string().default('default'),
  validate: z.object({
    /** Exact duplicate rows within one file: kept (and counted) or quarantined as duplicates. */
    exactDuplicates: z.enum(['keep', 'quarantine']).default('quarantine'),
    /** A file that cannot be read as its feed is rejected whole and recorded; 'fail' also fails the stage. */
    onRejectedFile: z.enum(['continue', 'fail']).default('continue'),
  }).default({ exactDuplicates: 'quarantine', onRejectedFile: 'continue' }),
  /** Linkage settings (matching/): owned by the linkage engine. */
  linkage: z.looseObject({}).default({}),
  /** Family-unit settings (matching/families): owned by the families stage. */
  families: z.looseObject({}).default({}).superRefine(checkedBy(familiesConfigSchema)),
  /** Risk stratification (models/): rule set, tiers, localities, disclosure control. */
  stratify: z.looseObject({}).default({}).superRefine(checkedBy(stratifyConfigSchema)),
  /** Report settings: disclosure control for aggregates, etc. */
  publish: z.looseObject({}).default({}),
});
export type RunConfig = z.infer<typeof runConfigSchema>;

export function defaultRunConfig(): RunConfig {
  return runConfigSchema.parse({});
}

export async function loadRunConfig(path: string | undefined): Promise<RunConfig> {
  if (!path) return defaultRunConfig();
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new Error(`config ${path}: cannot read as JSON (${(err as Error).message})`, { cause: err });
  }
  const parsed = runConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`config ${path}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}
