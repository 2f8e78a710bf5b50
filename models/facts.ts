/**
 * Facts: dated events about a source person, extracted by the standardise stage from event feeds.
 * The rule engine reads only facts (never raw feed rows), so every rule's evidence can name its
 * source, feed, event date and source record ref.
 */

export const FACT_TYPES = [
  'attendance_term', //          value = attendance rate 0..1; detail.term, detail.sessions_possible
  'suspension', //               value = days
  'permanent_exclusion',
  'missing_education', //        endDate null when still missing
  'maternity_booking', //        value = gestation at booking in weeks; detail.estimated_delivery_date
  'birth', //                    the mother's fact; value = birth weight grams; detail.smoking_at_delivery (Y|N|''); detail.baby_record_id
  'health_visitor_review', //    detail.review (new_birth|6_8_week|12_month|2_2_5_year), detail.status (completed|missed|declined)
  'perinatal_mental_health', //  endDate null when open
  'police_incident', //          detail.incident_type, detail.role, detail.incident_ref
  'social_care_episode', //      detail.episode_type; endDate null when open
  'family_incident', //          police non-crime family incident: detail.category, detail.role, detail.incident_ref
  'homelessness_application', // detail.duty (prevention|relief|main|none); endDate = duty end (null while owed)
  'temporary_accommodation', //  detail.placement_type; endDate null while placed
  'tenancy_action', //           detail.action (rent_arrears|notice_seeking_possession|possession_order|eviction); value = arrears weeks
  'council_tax_arrears', //      detail.recovery_stage; value = arrears in pounds
  'benefit_award', //            detail.award (free_school_meals|out_of_work_benefit|council_tax_reduction); endDate null while current
  'substance_treatment', //      date = referral; detail.service (adult|young_person), detail.status (in_treatment|referred), detail.substance; endDate = discharge
  'youth_justice_outcome', //    detail.outcome, detail.disposal (out_of_court|court), detail.first_time_entrant (Y|N)
] as const;
export type FactType = (typeof FACT_TYPES)[number];

/**
 * The feeds ("source/feed") each fact type comes from (pipelines/feeds/mappers.ts makes them; a test keeps the two in
 * step). A rule reading a fact type whose feeds none were received evidences nothing: its headline is "not evidenced".
 */
export const FACT_FEEDS: Readonly<Record<FactType, readonly string[]>> = {
  attendance_term: ['schools/attendance'],
  suspension: ['schools/suspensions'],
  permanent_exclusion: ['schools/suspensions'],
  missing_education: ['schools/missing_education'],
  maternity_booking: ['health/maternity'],
  birth: ['health/maternity'],
  health_visitor_review: ['health/health_visiting'],
  perinatal_mental_health: ['health/perinatal_mental_health'],
  police_incident: ['police/incidents'],
  social_care_episode: ['social_care/episodes'],
  family_incident: ['police/family_incidents'],
  homelessness_application: ['housing/homelessness'],
  temporary_accommodation: ['housing/temporary_accommodation'],
  tenancy_action: ['housing/tenancy_actions'],
  council_tax_arrears: ['revenues_benefits/council_tax_arrears'],
  benefit_award: ['revenues_benefits/awards'],
  substance_treatment: ['drug_alcohol/treatment'],
  youth_justice_outcome: ['youth_justice/outcomes'],
};

export interface Fact {
  /** `${source}:${feed}:${record_ref}` */
  factId: string;
  type: FactType;
  source: string;
  feed: string;
  /** The provider's reference for the event row: what an authorised officer looks up. */
  recordRef: string;
  /** recordId (see matching/records.ts) of the person the fact is about. */
  recordId: string;
  /** The event's date (YYYY-MM-DD): start date for episodes. */
  date: string;
  endDate: string | null;
  value: number | null;
  detail: Record<string, string>;
}
