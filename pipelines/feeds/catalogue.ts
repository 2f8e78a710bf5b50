/**
 * The feed catalogue: every (source, feed) a data provider may send, and its columns.
 *
 * This is the contract between providers (and the synthetic generator) and the validate stage.
 * The per-feed zod schemas in this folder must accept exactly these columns; a test keeps them in step.
 *
 * Conventions for every feed:
 *  - one CSV per extract under landing/<source>/<feed>/dt=<extract date YYYY-MM-DD>/<file>.csv, UTF-8, header row;
 *  - dates are ISO `YYYY-MM-DD`; blank means unknown;
 *  - `person_ref` is the provider's own reference for the person (stable across extracts);
 *  - `record_ref` is the provider's own reference for an event row (unique within the feed);
 *  - strong identifiers arrive only as tokens: 64 lowercase hex chars (HMAC-SHA256), never raw.
 */

export const SOURCES = ['schools', 'health', 'police', 'social_care'] as const;
export type Source = (typeof SOURCES)[number];

/** What kind of rows a feed carries. */
export type FeedKind =
  | 'people' //         identity rows: one person per row
  | 'events' //         dated facts about a person, keyed by person_ref
  | 'relationships'; // pairs of person refs with a relationship type

/** Identity columns shared by every people feed (order is the CSV column order). */
export const IDENTITY_COLUMNS = [
  'person_ref',
  'forename',
  'surname',
  'date_of_birth',
  'sex', // M | F | U | blank
  'postcode',
  'address_line_1',
] as const;

export interface FeedDefinition {
  source: Source;
  feed: string;
  kind: FeedKind;
  /** All columns, in order. Required columns must be present in the header; optional ones may be absent. */
  columns: readonly string[];
  /** Columns that may be missing from the header entirely (older extracts). */
  optionalColumns?: readonly string[];
  description: string;
}

export const FEEDS: readonly FeedDefinition[] = [
  // ---- schools -------------------------------------------------------------------------------
  {
    source: 'schools', feed: 'pupils', kind: 'people',
    columns: ['person_ref', 'upn_token', 'forename', 'surname', 'date_of_birth', 'sex', 'postcode', 'address_line_1', 'school_urn', 'year_group', 'census_date'],
    description: 'School census pupils: one row per pupil on roll at the census date.',
  },
  {
    source: 'schools', feed: 'contacts', kind: 'people',
    columns: ['person_ref', 'pupil_person_ref', 'relationship', 'forename', 'surname', 'date_of_birth', 'sex', 'postcode', 'address_line_1', 'priority'],
    description: 'Parent and carer contacts held by schools; relationship is mother | father | carer | other; pupil_person_ref is the pupil\'s person_ref in schools/pupils.',
  },
  {
    source: 'schools', feed: 'attendance', kind: 'events',
    columns: ['record_ref', 'person_ref', 'term', 'term_start', 'term_end', 'sessions_possible', 'sessions_attended'],
    description: 'Attendance per pupil per term (term like 2025-AUT | 2026-SPR | 2026-SUM).',
  },
  {
    source: 'schools', feed: 'suspensions', kind: 'events',
    columns: ['record_ref', 'person_ref', 'start_date', 'category', 'days'],
    description: 'Suspensions and exclusions; category is suspension | permanent_exclusion.',
  },
  {
    source: 'schools', feed: 'missing_education', kind: 'events',
    columns: ['record_ref', 'person_ref', 'start_date', 'end_date'],
    description: 'Children missing education episodes; blank end_date means still missing.',
  },
  // ---- health --------------------------------------------------------------------------------
  {
    source: 'health', feed: 'people', kind: 'people',
    columns: ['person_ref', 'nhs_number_token', 'forename', 'surname', 'date_of_birth', 'sex', 'postcode', 'address_line_1', 'gp_practice'],
    description: 'Patients known to the health partners (GP registration / child health system).',
  },
  {
    source: 'health', feed: 'maternity', kind: 'events',
    columns: ['record_ref', 'person_ref', 'baby_person_ref', 'booking_date', 'gestation_at_booking_weeks', 'estimated_delivery_date', 'delivery_date', 'smoking_at_delivery', 'birth_weight_grams'],
    description: 'Maternity episodes: person_ref is the mother; baby_person_ref (blank until birth) links the baby in health/people; smoking_at_delivery is Y | N | blank.',
  },
  {
    source: 'health', feed: 'health_visiting', kind: 'events',
    columns: ['record_ref', 'person_ref', 'review', 'due_date', 'status', 'contact_date'],
    description: 'Mandated health visitor reviews of a child: review is new_birth | 6_8_week | 12_month | 2_2_5_year; status is completed | missed | declined.',
  },
  {
    source: 'health', feed: 'perinatal_mental_health', kind: 'events',
    columns: ['record_ref', 'person_ref', 'referral_date', 'end_date'],
    description: 'Referrals to perinatal mental health services.',
  },
  // ---- police --------------------------------------------------------------------------------
  {
    source: 'police', feed: 'people', kind: 'people',
    columns: ['person_ref', 'forename', 'surname', 'date_of_birth', 'sex', 'postcode', 'address_line_1'],
    description: 'Nominals linked to incidents. Police hold no NHS number or UPN.',
  },
  {
    source: 'police', feed: 'incidents', kind: 'events',
    columns: ['record_ref', 'incident_ref', 'person_ref', 'incident_date', 'incident_type', 'role', 'postcode'],
    description: 'One row per person per incident: incident_type is domestic_abuse | missing_from_home | anti_social_behaviour | crime; role is victim | perpetrator | child_present | missing_person | suspect | witness | involved; postcode is where it happened.',
  },
  // ---- social care ---------------------------------------------------------------------------
  {
    source: 'social_care', feed: 'people', kind: 'people',
    columns: ['person_ref', 'nhs_number_token', 'forename', 'surname', 'date_of_birth', 'sex', 'postcode', 'address_line_1'],
    description: 'People recorded in the children\'s social care case management system (children and their adults).',
  },
  {
    source: 'social_care', feed: 'episodes', kind: 'events',
    columns: ['record_ref', 'person_ref', 'episode_type', 'start_date', 'end_date'],
    description: 'Episodes of a child: episode_type is contact | referral | early_help_assessment | child_in_need | child_protection_plan | looked_after; blank end_date means open.',
  },
  {
    source: 'social_care', feed: 'relationships', kind: 'relationships',
    columns: ['record_ref', 'person_ref', 'related_person_ref', 'relationship', 'group_ref', 'start_date', 'end_date'],
    description: 'person_ref IS the <relationship> OF related_person_ref: relationship is mother | father | carer | step_parent | grandparent | sibling; group_ref is the case\'s family grouping.',
  },
] as const;

export function findFeed(source: string, feed: string): FeedDefinition | undefined {
  return FEEDS.find((f) => f.source === source && f.feed === feed);
}

export const PEOPLE_FEEDS = FEEDS.filter((f) => f.kind === 'people');
