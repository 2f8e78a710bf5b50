/**
 * The `publish` section of the run config: disclosure control for aggregates and the Start Well settings.
 * Strict: an unknown key is an error.
 */
import { z } from 'zod';
import { disclosureSettingsSchema } from '../../models/disclosure.ts';
import { sfOutcomeSettingsSchema } from '../../models/sf-outcomes.ts';
import { outcomeSettingsSchema } from '../outcomes/settings.ts';

export const publishConfigSchema = z.strictObject({
  /** Disclosure control of published aggregates (models/disclosure.ts). */
  disclosure: disclosureSettingsSchema.default(disclosureSettingsSchema.parse({})),
  /** Release only after IG sign-off (`locality signoff`); false: released on a passing privacy scan (pipelines/release/run.ts). */
  requireSignoff: z.boolean().default(false),
  /** Start Well: antenatal booking at this many weeks or later is late. */
  lateBookingWeeks: z.number().positive().default(13),
  /** Leads' contact outcomes on the lists (pipelines/outcomes/lists.ts): months a declined family is kept off. */
  outcomes: outcomeSettingsSchema.default(outcomeSettingsSchema.parse({})),
  /** Supporting Families outcome tracking (models/sf-outcomes.ts): months sustained after closure, headlines a claim needs. */
  supportingFamilies: sfOutcomeSettingsSchema.default(sfOutcomeSettingsSchema.parse({})),
});
export type PublishConfig = z.infer<typeof publishConfigSchema>;
