/** Council revenues and benefits feeds: people, council tax arrears, awards (free school meals, out-of-work benefits). */
import { defineFeed, notBefore } from './contract.ts';
import { date, integer, oneOf, ref } from './fields.ts';
import { identityFields } from './identity.ts';

const id = identityFields();

export const people = defineFeed({
  source: 'revenues_benefits',
  feed: 'people',
  kind: 'people',
  description:
    'Council tax payers, benefit claimants and the children on their claims, as held by the revenues and benefits system. No NHS number or UPN.',
  fields: { ...id },
});

export const councilTaxArrears = defineFeed({
  source: 'revenues_benefits',
  feed: 'council_tax_arrears',
  kind: 'events',
  description: 'Council tax recovery action against a liable person: one row per recovery stage reached.',
  fields: {
    record_ref: ref('Reference of the recovery step, unique within the feed.'),
    person_ref: ref("The liable person's person_ref in revenues_benefits/people."),
    stage_date: date('Date the stage was reached.', { required: true }),
    recovery_stage: oneOf(
      ['reminder', 'final_notice', 'summons', 'liability_order', 'enforcement_agent'],
      'Recovery stage reached.',
    ),
    arrears_pounds: integer('Arrears at the stage, whole pounds; blank when not known.', 0, 100000),
  },
});

export const awards = defineFeed({
  source: 'revenues_benefits',
  feed: 'awards',
  kind: 'events',
  description:
    'Awards assessed by the council: free_school_meals (for a child, benefits-related eligibility), out_of_work_benefit (an adult on an out-of-work benefit: Universal Credit with no earnings, JSA, ESA or Income Support), council_tax_reduction; blank end_date means current.',
  fields: {
    record_ref: ref('Reference of the award, unique within the feed.'),
    person_ref: ref('The person the award is for (the child for free school meals) in revenues_benefits/people.'),
    award: oneOf(['free_school_meals', 'out_of_work_benefit', 'council_tax_reduction'], 'What is awarded.'),
    start_date: date('Start of the award.', { required: true }),
    end_date: date('End of the award; blank while current.'),
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

export const REVENUES_BENEFITS_FEEDS = [people, councilTaxArrears, awards];
