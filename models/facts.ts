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
] as const;
export type FactType = (typeof FACT_TYPES)[number];

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
