/**
 * The `linkage` section of the run config (the match stage's settings). Strict: an unknown key is an error.
 */
import { z } from 'zod';
import { linkSettingsSchema } from '../../matching/settings.ts';

export const linkageConfigSchema = z
  .strictObject({
    /** A full linkage settings object (matching/settings.ts); default matching/settings/partnership.json. */
    settings: linkSettingsSchema.optional(),
    /** Override the settings' match threshold (give one of the two). */
    thresholdProbability: z.number().gt(0).lt(1).optional(),
    thresholdWeight: z.number().optional(),
    pairsMinProbability: z.number().min(0).max(1).default(0.001),
    reviewSample: z.int().min(0).default(50),
    workers: z.int().min(0).optional(),
    /**
     * Clerical labels that train m instead of EM (EM's m is kept beside them in the model): a secure-zone key of a
     * labelled-pairs.csv that `review import` wrote, or false for EM only. Default: this as-at date's own
     * review/labelled-pairs.csv when there is one.
     */
    labelledPairs: z.union([z.string().min(1), z.literal(false)]).optional(),
  })
  .refine((c) => c.thresholdProbability === undefined || c.thresholdWeight === undefined, {
    message: 'give thresholdProbability or thresholdWeight, not both',
    path: ['thresholdProbability'],
  });

/** Threshold offsets (match weight) at which the match stage re-clusters for the audit's sensitivity table. */
export const SENSITIVITY_OFFSETS = [-8, -6, -4, -2, -1, 0, 1, 2, 4, 6, 8] as const;
