/** `publish.outcomes` of the run config: what leads' outcomes do to the next lists (lists.ts). */
import { z } from 'zod';

export const outcomeSettingsSchema = z
  .object({
    /** Months after a declined / not appropriate outcome that the family is kept off the ranked list. */
    suppressMonths: z.int().min(0).default(6),
  })
  .strict();
export type OutcomeSettings = z.infer<typeof outcomeSettingsSchema>;
