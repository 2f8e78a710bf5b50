/** Schools feeds: pupils (census), parent/carer contacts, attendance, suspensions, children missing education. */
import { defineFeed, notBefore } from './contract.ts';
import { code, date, decimal, integer, oneOf, ref } from './fields.ts';
import { identityFields, upnToken } from './identity.ts';

const id = identityFields();

export const pupils = defineFeed({
  source: 'schools',
  feed: 'pupils',
  kind: 'people',
  description: 'School census pupils: one row per pupil on roll at the census date.',
  fields: {
    person_ref: id.person_ref,
    upn_token: upnToken(),
    forename: id.forename,
    surname: id.surname,
    date_of_birth: id.date_of_birth,
    sex: id.sex,
    postcode: id.postcode,
    address_line_1: id.address_line_1,
    school_urn: code('Unique reference number of the school (6 digits).', /^\d{6}$/, 'must be a 6-digit school URN'),
    year_group: code(
      'National curriculum year group: N1, N2, R, 1-14, or X (not applicable).',
      /^(?:N1|N2|R|[1-9]|1[0-4]|X)$/,
      'must be N1 | N2 | R | 1-14 | X',
    ),
    census_date: date('Census date the row describes.'),
  },
});

export const contacts = defineFeed({
  source: 'schools',
  feed: 'contacts',
  kind: 'people',
  description:
    "Parent and carer contacts held by schools; pupil_person_ref is the pupil's person_ref in schools/pupils.",
  fields: {
    person_ref: id.person_ref,
    pupil_person_ref: ref("The pupil's person_ref in schools/pupils."),
    relationship: oneOf(['mother', 'father', 'carer', 'other'], "The contact's relationship to the pupil."),
    forename: id.forename,
    surname: id.surname,
    date_of_birth: id.date_of_birth,
    sex: id.sex,
    postcode: id.postcode,
    address_line_1: id.address_line_1,
    priority: integer('Contact priority (1 = first contact).', 1, 9),
  },
  checks: [
    {
      field: 'pupil_person_ref',
      reason: 'inconsistent',
      rule: 'a contact cannot be their own pupil (pupil_person_ref equals person_ref)',
      ok: (r) => r.pupil_person_ref !== r.person_ref,
    },
  ],
});

export const attendance = defineFeed({
  source: 'schools',
  feed: 'attendance',
  kind: 'events',
  description: 'Attendance per pupil per term.',
  fields: {
    record_ref: ref('Reference of the attendance row, unique within the feed.'),
    person_ref: ref("The pupil's person_ref in schools/pupils."),
    term: code(
      'School term: YYYY-AUT | YYYY-SPR | YYYY-SUM.',
      /^\d{4}-(?:AUT|SPR|SUM)$/,
      'must be a term like 2025-AUT, 2026-SPR or 2026-SUM',
      { required: true },
    ),
    term_start: date('First day of the term.', { required: true }),
    term_end: date('Last day of the term (may be after the extract date for the current term).', {
      required: true,
      notAfterExtract: false,
    }),
    sessions_possible: integer('Half-day sessions the pupil could attend.', 0, 400, { required: true }),
    sessions_attended: integer('Half-day sessions attended.', 0, 400, { required: true }),
  },
  checks: [
    {
      field: 'sessions_attended',
      reason: 'inconsistent',
      rule: 'sessions_attended must not exceed sessions_possible',
      ok: (r) => Number(r.sessions_attended) <= Number(r.sessions_possible),
    },
    {
      field: 'term_end',
      reason: 'date_out_of_range',
      rule: 'term_end must not be before term_start',
      ok: (r) => notBefore(r, 'term_start', 'term_end'),
    },
  ],
});

export const suspensions = defineFeed({
  source: 'schools',
  feed: 'suspensions',
  kind: 'events',
  description: 'Suspensions and exclusions.',
  fields: {
    record_ref: ref('Reference of the suspension, unique within the feed.'),
    person_ref: ref("The pupil's person_ref in schools/pupils."),
    start_date: date('First day of the suspension or exclusion.', { required: true }),
    category: oneOf(['suspension', 'permanent_exclusion'], 'Suspension (fixed period) or permanent exclusion.'),
    days: decimal('School days of the suspension (half days allowed); blank for a permanent exclusion.', 0.5, 45, 1),
  },
  checks: [
    {
      field: 'days',
      reason: 'inconsistent',
      rule: 'a suspension needs its number of days',
      ok: (r) => r.category !== 'suspension' || r.days !== '',
    },
  ],
});

export const missingEducation = defineFeed({
  source: 'schools',
  feed: 'missing_education',
  kind: 'events',
  description: 'Children missing education episodes; blank end_date means still missing.',
  fields: {
    record_ref: ref('Reference of the episode, unique within the feed.'),
    person_ref: ref("The child's person_ref in schools/pupils."),
    start_date: date('Date the child was first recorded as missing education.', { required: true }),
    end_date: date('Date the episode ended; blank while the child is still missing.'),
  },
  checks: [
    {
      field: 'end_date',
      reason: 'date_out_of_range',
      rule: 'end_date must not be before start_date',
      ok: (r) => notBefore(r, 'start_date', 'end_date'),
    },
  ],
});

export const SCHOOLS_FEEDS = [pupils, contacts, attendance, suspensions, missingEducation];
