/** Health feeds: people, maternity, health visiting, perinatal mental health. */
import { defineFeed, notBefore } from './contract.ts';
import { code, date, integer, oneOf, ref } from './fields.ts';
import { identityFields, nhsNumberToken } from './identity.ts';

const id = identityFields();

export const people = defineFeed({
  source: 'health',
  feed: 'people',
  kind: 'people',
  description: 'Patients known to the health partners (GP registration / child health system).',
  fields: {
    person_ref: id.person_ref,
    nhs_number_token: nhsNumberToken(),
    forename: id.forename,
    surname: id.surname,
    date_of_birth: id.date_of_birth,
    sex: id.sex,
    postcode: id.postcode,
    address_line_1: id.address_line_1,
    gp_practice: code(
      'ODS code of the registered GP practice (e.g. P84001).',
      /^[A-Z][A-Z0-9]{2,7}$/,
      'must be an ODS practice code: a capital letter then 2-7 capitals or digits',
    ),
  },
});

export const maternity = defineFeed({
  source: 'health',
  feed: 'maternity',
  kind: 'events',
  description:
    'Maternity episodes: person_ref is the mother; baby_person_ref (blank until birth) links the baby in health/people.',
  fields: {
    record_ref: ref('Reference of the maternity episode, unique within the feed.'),
    person_ref: ref("The mother's person_ref in health/people."),
    baby_person_ref: ref("The baby's person_ref in health/people; blank until the birth.", { required: false }),
    booking_date: date('Date of the booking appointment.', { required: true }),
    gestation_at_booking_weeks: integer('Completed weeks of pregnancy at booking.', 4, 45),
    estimated_delivery_date: date('Estimated date of delivery (may be after the extract date).', {
      notAfterExtract: false,
    }),
    delivery_date: date('Date of delivery; blank before the birth.'),
    smoking_at_delivery: oneOf(
      ['Y', 'N'],
      'Smoking at time of delivery: Y or N; blank when unknown or not delivered.',
      { required: false },
    ),
    birth_weight_grams: integer('Birth weight in grams.', 300, 6500),
  },
  checks: [
    {
      field: 'delivery_date',
      reason: 'date_out_of_range',
      rule: 'delivery_date must not be before booking_date',
      ok: (r) => notBefore(r, 'booking_date', 'delivery_date'),
    },
    {
      field: 'birth_weight_grams',
      reason: 'inconsistent',
      rule: 'a birth weight needs a delivery_date',
      ok: (r) => r.birth_weight_grams === '' || r.delivery_date !== '',
    },
    {
      field: 'baby_person_ref',
      reason: 'inconsistent',
      rule: "baby_person_ref must differ from the mother's person_ref",
      ok: (r) => r.baby_person_ref !== r.person_ref,
    },
  ],
});

export const healthVisiting = defineFeed({
  source: 'health',
  feed: 'health_visiting',
  kind: 'events',
  description: 'Mandated health visitor reviews of a child.',
  fields: {
    record_ref: ref('Reference of the review, unique within the feed.'),
    person_ref: ref("The child's person_ref in health/people."),
    review: oneOf(['new_birth', '6_8_week', '12_month', '2_2_5_year'], 'Which mandated review.'),
    due_date: date('Date the review is due (may be after the extract date).', {
      required: true,
      notAfterExtract: false,
    }),
    status: oneOf(['completed', 'missed', 'declined'], 'Outcome of the review.'),
    contact_date: date('Date of the contact; blank when none took place.'),
  },
  checks: [
    {
      field: 'contact_date',
      reason: 'inconsistent',
      rule: 'a missed review has no contact_date',
      ok: (r) => r.status !== 'missed' || r.contact_date === '',
    },
  ],
});

export const perinatalMentalHealth = defineFeed({
  source: 'health',
  feed: 'perinatal_mental_health',
  kind: 'events',
  description: 'Referrals to perinatal mental health services.',
  fields: {
    record_ref: ref('Reference of the referral, unique within the feed.'),
    person_ref: ref("The parent's person_ref in health/people."),
    referral_date: date('Date of the referral.', { required: true }),
    end_date: date('Date the service ended; blank while open.'),
  },
  checks: [
    {
      field: 'end_date',
      reason: 'date_out_of_range',
      rule: 'end_date must not be before referral_date',
      ok: (r) => notBefore(r, 'referral_date', 'end_date'),
    },
  ],
});

export const HEALTH_FEEDS = [people, maternity, healthVisiting, perinatalMentalHealth];
