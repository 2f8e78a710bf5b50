/**
 * Feed mappers (pure): validated event rows -> facts (models/facts.ts), relationship rows and link columns ->
 * RelationshipRecords (matching/records.ts). Rows are the validated string cells ('' = blank).
 */
import { recordIdOf, RELATIONSHIP_TYPES, type RelationshipRecord } from '../../matching/records.ts';
import { parsePostcode } from '../../matching/standardise/postcodes.ts';
import type { Fact } from '../../models/facts.ts';
import type { Source } from './catalogue.ts';
import type { Row } from './contract.ts';
import { cmp } from '../../models/order.ts';

/** The people feed whose person_ref the source's event feeds use. */
export const PEOPLE_FEED_OF: Readonly<Record<Source, string>> = {
  schools: 'pupils',
  health: 'people',
  police: 'people',
  social_care: 'people',
  housing: 'people',
  revenues_benefits: 'people',
  drug_alcohol: 'people',
  youth_justice: 'people',
};

/** Youth justice outcomes decided out of court (the rest are court orders). */
export const OUT_OF_COURT_OUTCOMES: readonly string[] = [
  'community_resolution',
  'youth_caution',
  'youth_conditional_caution',
];

const blank = (s: string | undefined): string | null => (s === undefined || s === '' ? null : s);
const num = (s: string | undefined): number | null => (s === undefined || s === '' ? null : Number(s));

function sortedDetail(d: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(d).sort(([a], [b]) => cmp(a, b)));
}

/** Facts from one validated event row, in factId order. Feeds that are not event feeds give none. */
export function factsOf(source: Source, feed: string, row: Row): Fact[] {
  const recordRef = row.record_ref!;
  const recordId = recordIdOf(source, PEOPLE_FEED_OF[source], row.person_ref!);
  const base = { factId: `${source}:${feed}:${recordRef}`, source, feed, recordRef, recordId };
  const fact = (f: Omit<Fact, 'factId' | 'source' | 'feed' | 'recordRef' | 'recordId'>, idSuffix = ''): Fact => ({
    ...base,
    factId: base.factId + idSuffix,
    ...f,
    detail: sortedDetail(f.detail),
  });
  switch (`${source}/${feed}`) {
    case 'schools/attendance': {
      const possible = Number(row.sessions_possible);
      const attended = Number(row.sessions_attended);
      return [
        fact({
          type: 'attendance_term',
          date: row.term_start!,
          endDate: blank(row.term_end),
          value: possible > 0 ? attended / possible : null,
          detail: {
            term: row.term!,
            sessions_possible: row.sessions_possible!,
            sessions_attended: row.sessions_attended!,
          },
        }),
      ];
    }
    case 'schools/suspensions':
      return [
        fact({
          type: row.category === 'permanent_exclusion' ? 'permanent_exclusion' : 'suspension',
          date: row.start_date!,
          endDate: null,
          value: num(row.days),
          detail: { category: row.category! },
        }),
      ];
    case 'schools/missing_education':
      return [
        fact({
          type: 'missing_education',
          date: row.start_date!,
          endDate: blank(row.end_date),
          value: null,
          detail: {},
        }),
      ];
    case 'health/maternity': {
      const out = [
        fact({
          type: 'maternity_booking',
          date: row.booking_date!,
          endDate: blank(row.delivery_date),
          value: num(row.gestation_at_booking_weeks),
          detail: { estimated_delivery_date: row.estimated_delivery_date ?? '' },
        }),
      ];
      if (row.delivery_date) {
        out.push(
          fact(
            {
              type: 'birth',
              date: row.delivery_date,
              endDate: null,
              value: num(row.birth_weight_grams),
              detail: {
                smoking_at_delivery: row.smoking_at_delivery ?? '',
                baby_record_id: row.baby_person_ref ? recordIdOf('health', 'people', row.baby_person_ref) : '',
              },
            },
            '#birth',
          ),
        );
      }
      return out;
    }
    case 'health/health_visiting':
      return [
        fact({
          type: 'health_visitor_review',
          date: row.contact_date || row.due_date!,
          endDate: null,
          value: null,
          detail: {
            review: row.review!,
            status: row.status!,
            due_date: row.due_date!,
            contact_date: row.contact_date ?? '',
          },
        }),
      ];
    case 'health/perinatal_mental_health':
      return [
        fact({
          type: 'perinatal_mental_health',
          date: row.referral_date!,
          endDate: blank(row.end_date),
          value: null,
          detail: {},
        }),
      ];
    case 'police/incidents':
      // Where it happened is kept to the postcode district: curated facts hold no address.
      return [
        fact({
          type: 'police_incident',
          date: row.incident_date!,
          endDate: null,
          value: null,
          detail: {
            incident_type: row.incident_type!,
            role: row.role!,
            incident_ref: row.incident_ref!,
            postcode_district: parsePostcode(row.postcode).district ?? '',
          },
        }),
      ];
    case 'social_care/episodes':
      return [
        fact({
          type: 'social_care_episode',
          date: row.start_date!,
          endDate: blank(row.end_date),
          value: null,
          detail: { episode_type: row.episode_type! },
        }),
      ];
    default:
      return partnerFactsOf(`${source}/${feed}`, row, fact);
  }
}

type FactMaker = (f: Omit<Fact, 'factId' | 'source' | 'feed' | 'recordRef' | 'recordId'>) => Fact;

/** Facts from the partner feeds added for the housing, financial, substance-use, family-relationship and youth-justice headlines. */
function partnerFactsOf(key: string, row: Row, fact: FactMaker): Fact[] {
  switch (key) {
    case 'police/family_incidents':
      return [
        fact({
          type: 'family_incident',
          date: row.incident_date!,
          endDate: null,
          value: null,
          detail: { category: row.category!, role: row.role!, incident_ref: row.incident_ref! },
        }),
      ];
    case 'housing/homelessness':
      return [
        fact({
          type: 'homelessness_application',
          date: row.application_date!,
          endDate: blank(row.duty_end_date),
          value: null,
          detail: { duty: row.duty! },
        }),
      ];
    case 'housing/temporary_accommodation':
      return [
        fact({
          type: 'temporary_accommodation',
          date: row.start_date!,
          endDate: blank(row.end_date),
          value: null,
          detail: { placement_type: row.placement_type! },
        }),
      ];
    case 'housing/tenancy_actions':
      return [
        fact({
          type: 'tenancy_action',
          date: row.action_date!,
          endDate: null,
          value: num(row.arrears_weeks),
          detail: { action: row.action! },
        }),
      ];
    case 'revenues_benefits/council_tax_arrears':
      return [
        fact({
          type: 'council_tax_arrears',
          date: row.stage_date!,
          endDate: null,
          value: num(row.arrears_pounds),
          detail: { recovery_stage: row.recovery_stage! },
        }),
      ];
    case 'revenues_benefits/awards':
      return [
        fact({
          type: 'benefit_award',
          date: row.start_date!,
          endDate: blank(row.end_date),
          value: null,
          detail: { award: row.award! },
        }),
      ];
    case 'drug_alcohol/treatment':
      return [
        fact({
          type: 'substance_treatment',
          date: row.referral_date!,
          endDate: blank(row.discharge_date),
          value: null,
          detail: {
            service: row.service!,
            substance: row.substance!,
            status: row.treatment_start ? 'in_treatment' : 'referred',
            treatment_start: row.treatment_start ?? '',
          },
        }),
      ];
    case 'youth_justice/outcomes':
      return [
        fact({
          type: 'youth_justice_outcome',
          date: row.outcome_date!,
          endDate: null,
          value: null,
          detail: {
            outcome: row.outcome!,
            disposal: OUT_OF_COURT_OUTCOMES.includes(row.outcome!) ? 'out_of_court' : 'court',
            first_time_entrant: row.first_time_entrant!,
          },
        }),
      ];
    default:
      return [];
  }
}

const RELATIONSHIPS: ReadonlySet<string> = new Set(RELATIONSHIP_TYPES);

/**
 * Relationships from one validated row:
 *  - social_care/relationships: person_ref IS <relationship> OF related_person_ref;
 *  - schools/contacts: the contact IS <relationship> OF the pupil (schools/pupils);
 *  - health/maternity with a baby: the mother IS mother OF the baby (health/people).
 */
export function relationshipsOf(source: Source, feed: string, row: Row): RelationshipRecord[] {
  switch (`${source}/${feed}`) {
    case 'social_care/relationships': {
      const rel = RELATIONSHIPS.has(row.relationship!)
        ? (row.relationship as RelationshipRecord['relationship'])
        : 'other';
      return [
        {
          relationshipId: `social_care:relationships:${row.record_ref}`,
          source,
          feed,
          recordRef: row.record_ref!,
          fromRecordId: recordIdOf('social_care', 'people', row.person_ref!),
          toRecordId: recordIdOf('social_care', 'people', row.related_person_ref!),
          relationship: rel,
          groupRef: blank(row.group_ref),
          startDate: blank(row.start_date),
          endDate: blank(row.end_date),
        },
      ];
    }
    case 'schools/contacts': {
      const ref = `${row.person_ref}>${row.pupil_person_ref}`;
      const rel = RELATIONSHIPS.has(row.relationship!)
        ? (row.relationship as RelationshipRecord['relationship'])
        : 'other';
      return [
        {
          relationshipId: `schools:contacts:${ref}`,
          source,
          feed,
          recordRef: ref,
          fromRecordId: recordIdOf('schools', 'contacts', row.person_ref!),
          toRecordId: recordIdOf('schools', 'pupils', row.pupil_person_ref!),
          relationship: rel,
          groupRef: null,
          startDate: null,
          endDate: null,
        },
      ];
    }
    case 'health/maternity':
      if (!row.baby_person_ref) return [];
      return [
        {
          relationshipId: `health:maternity:${row.record_ref}`,
          source,
          feed,
          recordRef: row.record_ref!,
          fromRecordId: recordIdOf('health', 'people', row.person_ref!),
          toRecordId: recordIdOf('health', 'people', row.baby_person_ref),
          relationship: 'mother',
          groupRef: null,
          startDate: blank(row.delivery_date),
          endDate: null,
        },
      ];
    default:
      return [];
  }
}
