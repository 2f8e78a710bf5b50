/**
 * The `publish` section of the run config: disclosure control for aggregates and the Start Well settings.
 * Strict: an unknown key is an error.
 */
import { z } from 'zod';
import { disclosureSettingsSchema } from '../../models/disclosure.ts';

export const publishConfigSchema = z.strictObject({
  /** Disclosure control of published aggregates (models/disclosure.ts). */
  disclosure: disclosureSettingsSchema.default(disclosureSettingsSchema.parse({})),
  /** Release only after IG sign-off (`locality signoff`); false: released on a passing privacy scan (pipelines/release/run.ts). */
  requireSignoff: z.boolean().default(false),
  /** Start Well: antenatal booking at this many weeks or later is late. */
  lateBookingWeeks: z.number().positive().default(13),
});
export type PublishConfig = z.infer<typeof publishConfigSchema>;
