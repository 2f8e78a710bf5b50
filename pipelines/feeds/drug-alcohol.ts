/** Drug and alcohol service feeds (the commissioned treatment provider, NDTMS-style): people and treatment journeys. */
import { defineFeed, notBefore } from './contract.ts';
import { date, oneOf, ref } from './fields.ts';
import { identityFields, nhsNumberToken } from './identity.ts';

const id = identityFields();

export const people = defineFeed({
  source: 'drug_alcohol',
  feed: 'people',
  kind: 'people',
  description: 'Adults and young people known to the drug and alcohol service.',
  fields: {
    person_ref: id.person_ref,
    nhs_number_token: nhsNumberToken(),
    forename: id.forename,
    surname: id.surname,
    date_of_birth: id.date_of_birth,
    sex: id.sex,
    postcode: id.postcode,
    address_line_1: id.address_line_1,
  },
});

export const treatment = defineFeed({
  source: 'drug_alcohol',
  feed: 'treatment',
  kind: 'events',
  description:
    'Treatment journeys: one row per referral; treatment_start is blank when the person was referred but has not started treatment; blank discharge_date means still open.',
  fields: {
    record_ref: ref('Reference of the journey, unique within the feed.'),
    person_ref: ref("The person's person_ref in drug_alcohol/people."),
    service: oneOf(['adult', 'young_person'], "Adult treatment or the young people's service."),
    substance: oneOf(['alcohol', 'opiates', 'non_opiates', 'alcohol_and_non_opiates'], 'Main problem substance.'),
    referral_date: date('Date of the referral.', { required: true }),
    treatment_start: date('First treatment intervention; blank when not (yet) started.'),
    discharge_date: date('Date the journey closed; blank while open.'),
  },
  checks: [
    {
      field: 'treatment_start',
      reason: 'date_out_of_range',
      rule: 'treatment_start must not be before referral_date',
      ok: (r) => notBefore(r, 'referral_date', 'treatment_start'),
    },
    {
      field: 'discharge_date',
      reason: 'date_out_of_range',
      rule: 'discharge_date must not be before referral_date',
      ok: (r) => notBefore(r, 'referral_date', 'discharge_date'),
    },
  ],
});

export const DRUG_ALCOHOL_FEEDS = [people, treatment];
