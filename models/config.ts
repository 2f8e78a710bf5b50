/**
 * The `stratify` section of the run config: which rule set, the tiers, the three-needs bar, what counts as
 * "open to statutory services", and the locality lookup. Validated with zod; defaults are the partnership's
 * published settings.
 */
import { z } from 'zod';
import { ruleSetSchema, type RuleSet } from './rules/schema.ts';
import { defaultRuleSet } from './rules/supporting-families.ts';
import { issuesText } from './zod-issues.ts';

export const tierSchema = z.object({
  name: z.string().min(1),
  /** A family's score at or above this puts it in the tier (highest tier first). */
  minScore: z.number().positive(),
});

export const localitySettingsSchema = z
  .object({
    /** ONS Postcode Directory layout CSV (columns pcd/pcd2/pcds, osward, doterm ...): a real extract can be dropped in. */
    postcodeDirectory: z.string().default('fixtures/lookups/postcode-directory.csv'),
    /** Ward code -> locality: a JSON file (see models/localities.ts for the accepted shapes). */
    wardLocalities: z.string().default('fixtures/lookups/localities.json'),
    /** Ward code -> ward name (CSV with ward_code and ward_name columns, or ONS WDyyCD / WDyyNM): names shown beside codes in the lists. */
    wardNames: z.string().default('fixtures/lookups/wards.csv'),
    /** The name given to families whose postcode is unknown or outside the lookup. */
    unassigned: z.string().default('Unassigned'),
  })
  .strict();

export const stratifyConfigSchema = z
  .object({
    /** A whole rule set (data) replacing the default Supporting Families set. */
    ruleSet: ruleSetSchema.optional(),
    tiers: z
      .array(tierSchema)
      .min(1)
      .default([
        // calibrated on the default data by the rule in models/rules/calibration.ts (docs/rules.md has the table)
        { name: 'high', minScore: 6 },
        { name: 'medium', minScore: 4 },
        { name: 'low', minScore: 2 },
      ])
      .refine(
        (t) => t.every((x, i) => i === 0 || x.minScore < t[i - 1]!.minScore),
        'tiers are listed highest first, with strictly decreasing minScore',
      ),
    /** Supporting Families: a family is eligible when it meets at least this many headlines. */
    threeNeedsMinHeadlines: z.number().int().positive().default(3),
    /** Open episodes of these types mark a family "open to statutory services". */
    statutoryEpisodeTypes: z
      .array(z.string())
      .min(1)
      .default(['child_in_need', 'child_protection_plan', 'looked_after']),
    /**
     * The partner sources this partnership has (e.g. without "housing" where the council sends no housing feed). Facts
     * of other sources are not scored, and a headline evidenced only by them is reported "not evidenced", never as no need.
     * Default: every source that sent data.
     */
    sources: z
      .array(z.string().regex(/^[a-z][a-z_]*$/, 'a source name, e.g. housing'))
      .min(1)
      .optional(),
    /** Score facts of members who live elsewhere (also_in memberships) too. Off by default: they count in their own household. */
    includeAlsoInMembers: z.boolean().default(false),
    localities: localitySettingsSchema.default(localitySettingsSchema.parse({})),
  })
  .strict();
export type StratifyConfig = z.infer<typeof stratifyConfigSchema>;

export function parseStratifyConfig(raw: unknown): StratifyConfig {
  const r = stratifyConfigSchema.safeParse(raw ?? {});
  if (!r.success) throw new Error(`config stratify: ${issuesText(r.error)}`);
  return r.data;
}

export function ruleSetOf(cfg: StratifyConfig): RuleSet {
  return cfg.ruleSet ?? defaultRuleSet();
}
