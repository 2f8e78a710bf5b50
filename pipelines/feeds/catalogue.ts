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

export const SOURCES = [
  'schools',
  'health',
  'police',
  'social_care',
  'housing',
  'revenues_benefits',
  'drug_alcohol',
  'youth_justice',
] as const;
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
    source: 'schools',
    feed: 'pupils',
    kind: 'people',
    columns: [
      'person_ref',
      'upn_token',
      'forename',
      'surname',
      'date_of_birth',
      'sex',
      'postcode',
      'address_line_1',
      'school_urn',
      'year_group',
      'census_date',
    ],
    description: 'School census pupils: one row per pupil on roll at the census date.',
  },
  {
    source: 'schools',
    feed: 'contacts',
    kind: 'people',
    columns: [
      'person_ref',
      'pupil_person_ref',
      'relationship',
      'forename',
      'surname',
      'date_of_birth',
      'sex',
      'postcode',
      'address_line_1',
      'priority',
    ],
    description:
      "Parent and carer contacts held by schools; relationship is mother | father | carer | other; pupil_person_ref is the pupil's person_ref in schools/pupils.",
  },
  {
    source: 'schools',
    feed: 'attendance',
    kind: 'events',
    columns: ['record_ref', 'person_ref', 'term', 'term_start', 'term_end', 'sessions_possible', 'sessions_attended'],
    description: 'Attendance per pupil per term (term like 2025-AUT | 2026-SPR | 2026-SUM).',
  },
  {
    source: 'schools',
    feed: 'suspensions',
    kind: 'events',
    columns: ['record_ref', 'person_ref', 'start_date', 'category', 'days'],
    description: 'Suspensions and exclusions; category is suspension | permanent_exclusion.',
  },
  {
    source: 'schools',
    feed: 'missing_education',
    kind: 'events',
    columns: ['record_ref', 'person_ref', 'start_date', 'end_date'],
    description: 'Children missing education episodes; blank end_date means still missing.',
  },
  // ---- health --------------------------------------------------------------------------------
  {
    source: 'health',
    feed: 'people',
    kind: 'people',
    columns: [
      'person_ref',
      'nhs_number_token',
      'forename',
      'surname',
      'date_of_birth',
      'sex',
      'postcode',
      'address_line_1',
      'gp_practice',
    ],
    description: 'Patients known to the health partners (GP registration / child health system).',
  },
  {
    source: 'health',
    feed: 'maternity',
    kind: 'events',
    columns: [
      'record_ref',
      'person_ref',
      'baby_person_ref',
      'booking_date',
      'gestation_at_booking_weeks',
      'estimated_delivery_date',
      'delivery_date',
      'smoking_at_delivery',
      'birth_weight_grams',
    ],
    description:
      'Maternity episodes: person_ref is the mother; baby_person_ref (blank until birth) links the baby in health/people; smoking_at_delivery is Y | N | blank.',
  },
  {
    source: 'health',
    feed: 'health_visiting',
    kind: 'events',
    columns: ['record_ref', 'person_ref', 'review', 'due_date', 'status', 'contact_date'],
    description:
      'Mandated health visitor reviews of a child: review is new_birth | 6_8_week | 12_month | 2_2_5_year; status is completed | missed | declined.',
  },
  {
    source: 'health',
    feed: 'perinatal_mental_health',
    kind: 'events',
    columns: ['record_ref', 'person_ref', 'referral_date', 'end_date'],
    description: 'Referrals to perinatal mental health services.',
  },
  // ---- police --------------------------------------------------------------------------------
  {
    source: 'police',
    feed: 'people',
    kind: 'people',
    columns: ['person_ref', 'forename', 'surname', 'date_of_birth', 'sex', 'postcode', 'address_line_1'],
    description: 'Nominals linked to incidents. Police hold no NHS number or UPN.',
  },
  {
    source: 'police',
    feed: 'incidents',
    kind: 'events',
    columns: ['record_ref', 'incident_ref', 'person_ref', 'incident_date', 'incident_type', 'role', 'postcode'],
    description:
      'One row per person per incident: incident_type is domestic_abuse | missing_from_home | anti_social_behaviour | crime; role is victim | perpetrator | child_present | missing_person | suspect | witness | involved; postcode is where it happened.',
  },
  {
    source: 'police',
    feed: 'family_incidents',
    kind: 'events',
    columns: ['record_ref', 'incident_ref', 'person_ref', 'incident_date', 'category', 'role'],
    description:
      'Non-crime family incidents, one row per person per incident: category is non_crime_domestic | child_to_parent_violence | parental_conflict; role is victim | perpetrator | child_present | involved.',
  },
  // ---- social care ---------------------------------------------------------------------------
  {
    source: 'social_care',
    feed: 'people',
    kind: 'people',
    columns: [
      'person_ref',
      'nhs_number_token',
      'forename',
      'surname',
      'date_of_birth',
      'sex',
      'postcode',
      'address_line_1',
    ],
    description: "People recorded in the children's social care case management system (children and their adults).",
  },
  {
    source: 'social_care',
    feed: 'episodes',
    kind: 'events',
    columns: ['record_ref', 'person_ref', 'episode_type', 'start_date', 'end_date'],
    description:
      'Episodes of a child: episode_type is contact | referral | early_help_assessment | child_in_need | child_protection_plan | looked_after; blank end_date means open.',
  },
  {
    source: 'social_care',
    feed: 'relationships',
    kind: 'relationships',
    columns: ['record_ref', 'person_ref', 'related_person_ref', 'relationship', 'group_ref', 'start_date', 'end_date'],
    description:
      "person_ref IS the <relationship> OF related_person_ref: relationship is mother | father | carer | step_parent | grandparent | sibling; group_ref is the case's family grouping.",
  },
  // ---- housing -------------------------------------------------------------------------------
  {
    source: 'housing',
    feed: 'people',
    kind: 'people',
    columns: ['person_ref', 'forename', 'surname', 'date_of_birth', 'sex', 'postcode', 'address_line_1'],
    description: 'Applicants and household members known to the housing service. No NHS number or UPN.',
  },
  {
    source: 'housing',
    feed: 'homelessness',
    kind: 'events',
    columns: ['record_ref', 'person_ref', 'application_date', 'duty', 'duty_end_date'],
    description:
      'Homelessness applications per household member: duty is prevention | relief | main | none; blank duty_end_date while owed.',
  },
  {
    source: 'housing',
    feed: 'temporary_accommodation',
    kind: 'events',
    columns: ['record_ref', 'person_ref', 'placement_type', 'start_date', 'end_date'],
    description:
      'Temporary accommodation placements per household member: placement_type is bed_and_breakfast | hostel | private_sector_leased | council_stock | other; blank end_date while placed.',
  },
  {
    source: 'housing',
    feed: 'tenancy_actions',
    kind: 'events',
    columns: ['record_ref', 'person_ref', 'action_date', 'action', 'arrears_weeks'],
    description:
      'Arrears and possession actions against a tenant: action is rent_arrears | notice_seeking_possession | possession_order | eviction.',
  },
  // ---- council revenues and benefits ---------------------------------------------------------
  {
    source: 'revenues_benefits',
    feed: 'people',
    kind: 'people',
    columns: ['person_ref', 'forename', 'surname', 'date_of_birth', 'sex', 'postcode', 'address_line_1'],
    description: 'Council tax payers, benefit claimants and the children on their claims. No NHS number or UPN.',
  },
  {
    source: 'revenues_benefits',
    feed: 'council_tax_arrears',
    kind: 'events',
    columns: ['record_ref', 'person_ref', 'stage_date', 'recovery_stage', 'arrears_pounds'],
    description:
      'Council tax recovery stages reached: recovery_stage is reminder | final_notice | summons | liability_order | enforcement_agent.',
  },
  {
    source: 'revenues_benefits',
    feed: 'awards',
    kind: 'events',
    columns: ['record_ref', 'person_ref', 'award', 'start_date', 'end_date'],
    description:
      'Awards: award is free_school_meals (a child) | out_of_work_benefit (an adult) | council_tax_reduction; blank end_date while current.',
  },
  // ---- drug and alcohol service -------------------------------------------------------------
  {
    source: 'drug_alcohol',
    feed: 'people',
    kind: 'people',
    columns: [
      'person_ref',
      'nhs_number_token',
      'forename',
      'surname',
      'date_of_birth',
      'sex',
      'postcode',
      'address_line_1',
    ],
    description: 'Adults and young people known to the drug and alcohol service.',
  },
  {
    source: 'drug_alcohol',
    feed: 'treatment',
    kind: 'events',
    columns: ['record_ref', 'person_ref', 'service', 'substance', 'referral_date', 'treatment_start', 'discharge_date'],
    description:
      'Treatment journeys: service is adult | young_person; substance is alcohol | opiates | non_opiates | alcohol_and_non_opiates; blank treatment_start = referred, not in treatment.',
  },
  // ---- youth justice service ----------------------------------------------------------------
  {
    source: 'youth_justice',
    feed: 'people',
    kind: 'people',
    columns: ['person_ref', 'forename', 'surname', 'date_of_birth', 'sex', 'postcode', 'address_line_1'],
    description: 'Children known to the youth justice service. No NHS number or UPN.',
  },
  {
    source: 'youth_justice',
    feed: 'outcomes',
    kind: 'events',
    columns: ['record_ref', 'person_ref', 'outcome_date', 'outcome', 'first_time_entrant'],
    description:
      'Outcomes: out-of-court (community_resolution | youth_caution | youth_conditional_caution) or court (referral_order | youth_rehabilitation_order | custodial_sentence); first_time_entrant Y | N.',
  },
] as const;

export function findFeed(source: string, feed: string): FeedDefinition | undefined {
  return FEEDS.find((f) => f.source === source && f.feed === feed);
}

export const PEOPLE_FEEDS = FEEDS.filter((f) => f.kind === 'people');
