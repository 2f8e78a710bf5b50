/**
 * Family-unit settings (the `families` section of the run config). Data, validated on load.
 */
import { z } from 'zod';
import { issuesText } from '../../models/zod-issues.ts';
import { RELATIONSHIP_TYPES } from '../records.ts';

export const communalAddressSchema = z
  .object({
    /** Normalised postcode, e.g. "M14 5RB". */
    postcode: z.string().min(5),
    /** Normalised first address line; omitted = every address at the postcode. */
    addressLine1: z.string().min(1).optional(),
    /** What it is, for the report (e.g. "hostel"). */
    note: z.string().optional(),
  })
  .strict();

export const familiesConfigSchema = z
  .object({
    /** Age (whole years at the as-at date) from which a person is an adult. */
    adultAge: z.number().int().positive().default(18),
    /** An address holding more people than this is treated as communal: co-residence there makes no family. */
    householdSizeCap: z.number().int().positive().default(12),
    /**
     * An address where more than this many unrelated adult groups live (adults not connected to each other by any
     * explicit relationship) is treated as communal (hostel, HMO, shelter) even if it is not on the list.
     */
    maxUnrelatedAdultGroups: z.number().int().positive().default(4),
    /** Known communal and institutional addresses (hostels, refuges, care homes, halls): configured by the partnership. */
    communalAddresses: z.array(communalAddressSchema).default([]),
    /** Words in a first address line that mark it communal. */
    communalKeywords: z
      .array(z.string().min(2))
      .default([
        'HOSTEL',
        'REFUGE',
        'NIGHT SHELTER',
        'CARE HOME',
        'NURSING HOME',
        'HALLS OF RESIDENCE',
        'STUDENT HALL',
        'HOTEL',
        'PRISON',
        'SUPPORTED HOUSING',
        'FOYER',
      ]),
    /** Relationship types that make (or link) a family; "other" is kept as evidence only. */
    relationshipTypes: z.array(z.enum(RELATIONSHIP_TYPES)).default(RELATIONSHIP_TYPES.filter((t) => t !== 'other')),
    /** A pregnant woman (a current maternity booking) anchors a family like a child does. */
    expectantMothersAnchor: z.boolean().default(true),
  })
  .strict();
export type FamiliesConfig = z.infer<typeof familiesConfigSchema>;

export function parseFamiliesConfig(raw: unknown): FamiliesConfig {
  const r = familiesConfigSchema.safeParse(raw ?? {});
  if (!r.success) throw new Error(`config families: ${issuesText(r.error)}`);
  return r.data;
}
