/**
 * Feed mappers (pure): validated event rows -> facts (models/facts.ts), relationship rows and link columns ->
 * RelationshipRecords (matching/records.ts). Rows are the validated string cells ('' = blank).
 */
import { recordIdOf, type RelationshipRecord } from '../../matching/records.ts';
import { parsePostcode } from '../../matching/standardise/postcodes.ts';
import type { Fact } from '../../models/facts.ts';
import type { Source } from './catalogue.ts';
import type { Row } from './contract.ts';

/** The people feed whose person_ref the source's event feeds use. */
export const PEOPLE_FEED_OF: Readonly<Record<Source, string>> = {
  schools: 'pupils',
  health: 'people',
  police: 'people',
  social_care: 'people',
};

const blank = (s: string | undefined): string | null => (s === undefined || s === '' ? null : s);
const num = (s: string | undefined): number | null => (s === undefined || s === '' ? null : Number(s));

function sortedDetail(d: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(d).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Facts from one validated event row, in factId order. Feeds that are not event feeds give none. */
export function factsOf(source: Source, feed: string, row: Row): Fact[] {
  const recordRef = row.record_ref!;
  const recordId = recordIdOf(source, PEOPLE_FEED_OF[source], row.person_ref!);
  const base = { factId: `${source}:${feed}:${recordRef}`, source, feed, recordRef, recordId };
  const fact = (f: Omit<Fact, 'factId' | 'source' | 'feed' | 'recordRef' | 'recordId'>, idSuffix = ''): Fact => ({ ...base, factId: base.factId + idSuffix, ...f, detail: sortedDetail(f.detail) });
  switch (`${source}/${feed}`) {
    case 'schools/attendance': {
      const possible = Number(row.sessions_possible);
      const attended = Number(row.sessions_attended);
      return [fact({
        type: 'attendance_term', date: row.term_start!, endDate: blank(row.term_end), value: possible > 0 ? attended / possible : null,
        detail: { term: row.term!, sessions_possible: row.sessions_possible!, sessions_attended: row.sessions_attended! },
      })];
    }
    case 'schools/suspensions':
      return [fact({ type: row.category === 'permanent_exclusion' ? 'permanent_exclusion' : 'suspension', date: row.start_date!, endDate: null, value: num(row.days), detail: { category: row.category! } })];
    case 'schools/missing_education':
      return [fact({ type: 'missing_education', date: row.start_date!, endDate: blank(row.end_date), value: null, detail: {} })];
    case 'health/maternity': {
      const out = [fact({
        type: 'maternity_booking', date: row.booking_date!, endDate: blank(row.delivery_date), value: num(row.gestation_at_booking_weeks),
        detail: { estimated_delivery_date: row.estimated_delivery_date ?? '' },
      })];
      if (row.delivery_date) {
        out.push(fact({
          type: 'birth', date: row.delivery_date, endDate: null, value: num(row.birth_weight_grams),
          detail: { smoking_at_delivery: row.smoking_at_delivery ?? '', baby_record_id: row.baby_person_ref ? recordIdOf('health', 'people', row.baby_person_ref) : '' },
        }, '#birth'));
      }
      return out;
    }
    case 'health/health_visiting':
      return [fact({
        type: 'health_visitor_review', date: row.contact_date || row.due_date!, endDate: null, value: null,
        detail: { review: row.review!, status: row.status!, due_date: row.due_date!, contact_date: row.contact_date ?? '' },
      })];
    case 'health/perinatal_mental_health':
      return [fact({ type: 'perinatal_mental_health', date: row.referral_date!, endDate: blank(row.end_date), value: null, detail: {} })];
    case 'police/incidents':
      // Where it happened is kept to the postcode district: curated facts hold no address.
      return [fact({
        type: 'police_incident', date: row.incident_date!, endDate: null, value: null,
        detail: { incident_type: row.incident_type!, role: row.role!, incident_ref: row.incident_ref!, postcode_district: parsePostcode(row.postcode).district ?? '' },
      })];
    case 'social_care/episodes':
      return [fact({ type: 'social_care_episode', date: row.start_date!, endDate: blank(row.end_date), value: null, detail: { episode_type: row.episode_type! } })];
    default:
      return [];
  }
}

const RELATIONSHIPS = new Set(['mother', 'father', 'carer', 'step_parent', 'grandparent', 'sibling', 'other']);

/**
 * Relationships from one validated row:
 *  - social_care/relationships: person_ref IS <relationship> OF related_person_ref;
 *  - schools/contacts: the contact IS <relationship> OF the pupil (schools/pupils);
 *  - health/maternity with a baby: the mother IS mother OF the baby (health/people).
 */
export function relationshipsOf(source: Source, feed: string, row: Row): RelationshipRecord[] {
  switch (`${source}/${feed}`) {
    case 'social_care/relationships': {
      const rel = RELATIONSHIPS.has(row.relationship!) ? (row.relationship as RelationshipRecord['relationship']) : 'other';
      return [{
        relationshipId: `social_care:relationships:${row.record_ref}`, source, feed, recordRef: row.record_ref!,
        fromRecordId: recordIdOf('social_care', 'people', row.person_ref!), toRecordId: recordIdOf('social_care', 'people', row.related_person_ref!),
        relationship: rel, groupRef: blank(row.group_ref), startDate: blank(row.start_date), endDate: blank(row.end_date),
      }];
    }
    case 'schools/contacts': {
      const ref = `${row.person_ref}>${row.pupil_person_ref}`;
      const rel = RELATIONSHIPS.has(row.relationship!) ? (row.relationship as RelationshipRecord['relationship']) : 'other';
      return [{
        relationshipId: `schools:contacts:${ref}`, source, feed, recordRef: ref,
        fromRecordId: recordIdOf('schools', 'contacts', row.person_ref!), toRecordId: recordIdOf('schools', 'pupils', row.pupil_person_ref!),
        relationship: rel, groupRef: null, startDate: null, endDate: null,
      }];
    }
    case 'health/maternity':
      if (!row.baby_person_ref) return [];
      return [{
        relationshipId: `health:maternity:${row.record_ref}`, source, feed, recordRef: row.record_ref!,
        fromRecordId: recordIdOf('health', 'people', row.person_ref!), toRecordId: recordIdOf('health', 'people', row.baby_person_ref),
        relationship: 'mother', groupRef: null, startDate: blank(row.delivery_date), endDate: null,
      }];
    default:
      return [];
  }
}
