/**
 * A rule set is data: each rule names the facts it reads, how they are filtered, the look-back window,
 * the threshold and the weight, and the Supporting Families headline it evidences. Validated with zod
 * on load, versioned; the version goes into every score row and the run manifest.
 */
import { z } from 'zod';
import { FACT_TYPES } from '../facts.ts';
import { issuesText } from '../zod-issues.ts';

export const HEADLINE_IDS = [
  'education',
  'early_years',
  'health',
  'substance_use',
  'family_relationships',
  'children_safe',
  'crime',
  'domestic_abuse',
  'housing',
  'financial_stability',
] as const;
export type HeadlineId = (typeof HEADLINE_IDS)[number];

export const headlineSchema = z.object({
  id: z.enum(HEADLINE_IDS),
  name: z.string().min(1),
  /** Why no rule evidences it, when none does (e.g. no partner holds the data). */
  coverageNote: z.string().optional(),
});

const valueTestSchema = z
  .object({
    lt: z.number().optional(),
    lte: z.number().optional(),
    gt: z.number().optional(),
    gte: z.number().optional(),
  })
  .strict();

/** A rule's `where` filters (shared by need rules and their outcome rules). */
const whereSchema = z
  .object({
    detail: z.record(z.string(), z.array(z.string()).min(1)).optional(),
    value: valueTestSchema.optional(),
    /** The subject's age in whole years at the event date is below this (teenage parent). Unknown DOB never matches. */
    subjectAgeUnder: z.number().int().positive().optional(),
  })
  .strict();

/**
 * The Supporting Families outcome beside a need rule: what a positive outcome for that need is, measured from the
 * day the family's case opened to each later as-at date (models/sf-outcomes.ts):
 *   none_since:    no further fact of that kind since (for an episode rule, none open at the as-at date either)
 *   not_open:      none open at the as-at date (e.g. no longer on an out-of-work benefit, no longer NEET)
 *   measure_since: the rule's measure over the facts since is on the good side of the threshold, for each person the
 *                  need named, with at least minFacts facts (e.g. attendance at or above 90% for the terms since)
 *   any_since:     at least minFacts facts of the kind since (e.g. the mandated health visiting reviews completed)
 * facts and where default to the need rule's.
 */
export const outcomeRuleSchema = z
  .object({
    kind: z.enum(['none_since', 'not_open', 'measure_since', 'any_since']),
    /** Plain English: what the positive outcome is. */
    description: z.string().min(10),
    facts: z.array(z.enum(FACT_TYPES)).min(1).optional(),
    where: whereSchema.optional(),
    /** measure_since: the threshold (default: the need rule's). */
    threshold: z.number().optional(),
    /** measure_since / any_since: at least this many facts since the case opened. */
    minFacts: z.number().int().positive().default(1),
  })
  .strict();
export type OutcomeRule = z.infer<typeof outcomeRuleSchema>;

export const ruleSchema = z
  .object({
    /** Stable id, e.g. "SF-EDU-01"; appears in every reason. */
    id: z
      .string()
      .regex(/^[A-Z][A-Z0-9-]{2,31}$/, 'rule ids are upper case letters, digits and dashes, e.g. SF-EDU-01'),
    headline: z.enum(HEADLINE_IDS),
    /** Short name for lists, e.g. "Persistent absence". */
    title: z.string().min(1),
    /** Plain English, for practitioners and families. */
    description: z.string().min(10),
    /** Fact types the rule reads (models/facts.ts). */
    facts: z.array(z.enum(FACT_TYPES)).min(1),
    /** Filters on each fact: detail field values allowed (any of), a test on the fact's value, the subject's age at the event. */
    where: whereSchema.default({}),
    /** Whose facts count: children (< 18 at the as-at date), adults, or anyone in the family. */
    appliesTo: z.enum(['child', 'adult', 'any']).default('any'),
    /**
     * Which facts are in time:
     *  in_window:         event date within the look-back window (after as-at minus the window, on or before the as-at date)
     *  open_at_as_at:     an episode started on or before the as-at date and not ended by it
     *  open_or_in_window: either of the above
     *  ended_in_window:   an episode whose end date is within the look-back window (recently closed)
     */
    timing: z.enum(['in_window', 'open_at_as_at', 'open_or_in_window', 'ended_in_window']).default('in_window'),
    lookBack: z
      .object({ months: z.number().int().min(0).default(0), days: z.number().int().min(0).default(0) })
      .strict()
      .refine((w) => w.months > 0 || w.days > 0, 'a look-back window needs months or days'),
    /** Per person, keep only the most recent N matching facts (e.g. the last three terms). */
    lastN: z.number().int().positive().optional(),
    /** count: number of distinct matching facts; weighted_mean: mean of fact values weighted by detail[weightField]. */
    measure: z.enum(['count', 'weighted_mean']).default('count'),
    weightField: z.string().optional(),
    /** Count distinct by the fact's record ref or by a detail field (one police incident = one, however many people it names). */
    distinctBy: z
      .string()
      .regex(/^(recordRef|detail\.[a-z_]+)$/)
      .default('recordRef'),
    /** person: the threshold is met by one person's facts; family: by the family's facts pooled. */
    scope: z.enum(['person', 'family']).default('person'),
    comparison: z.enum(['at_least', 'below']).default('at_least'),
    threshold: z.number(),
    weight: z.number().positive(),
    /** The Supporting Families outcome for this need (absent: the need has no outcome rule, and no claim counts it). */
    outcome: outcomeRuleSchema.optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.measure === 'weighted_mean' && r.scope !== 'person')
      ctx.addIssue({ code: 'custom', message: 'weighted_mean rules are per person', path: ['scope'] });
    if (r.measure === 'count' && r.comparison !== 'at_least')
      ctx.addIssue({ code: 'custom', message: 'count rules compare with at_least', path: ['comparison'] });
    if (r.measure === 'count' && (!Number.isInteger(r.threshold) || r.threshold < 1))
      ctx.addIssue({ code: 'custom', message: 'a count threshold is a whole number >= 1', path: ['threshold'] });
    if (r.outcome?.kind === 'measure_since' && r.measure !== 'weighted_mean')
      ctx.addIssue({
        code: 'custom',
        message: 'measure_since outcomes are for weighted_mean rules',
        path: ['outcome', 'kind'],
      });
    if ((r.outcome?.where ?? (r.outcome ? r.where : undefined))?.subjectAgeUnder !== undefined)
      ctx.addIssue({
        code: 'custom',
        message:
          'an outcome cannot test the age at the event (no date of birth outside the secure zone): give it its own facts and where',
        path: ['outcome', 'where'],
      });
  });
export type Rule = z.infer<typeof ruleSchema>;

export const ruleSetSchema = z
  .object({
    id: z.string().min(1),
    /** Semantic or dated version; recorded in every score row and in the manifest. */
    version: z.string().min(1),
    description: z.string().min(1),
    headlines: z.array(headlineSchema).length(HEADLINE_IDS.length),
    rules: z.array(ruleSchema).min(1),
  })
  .strict()
  .superRefine((s, ctx) => {
    const ids = new Set<string>();
    s.rules.forEach((r, i) => {
      if (ids.has(r.id))
        ctx.addIssue({ code: 'custom', message: `duplicate rule id ${r.id}`, path: ['rules', i, 'id'] });
      ids.add(r.id);
    });
    const heads = new Set(s.headlines.map((h) => h.id));
    if (heads.size !== HEADLINE_IDS.length)
      ctx.addIssue({ code: 'custom', message: 'each of the ten headlines appears once', path: ['headlines'] });
  });
export type RuleSet = z.infer<typeof ruleSetSchema>;
export type RuleSetInput = z.input<typeof ruleSetSchema>;

/** Parses a rule set, with errors naming the rule and field. */
export function parseRuleSet(raw: unknown, origin = 'rule set'): RuleSet {
  const r = ruleSetSchema.safeParse(raw);
  if (!r.success) {
    throw new Error(`${origin}: ${issuesText(r.error)}`);
  }
  return r.data;
}
