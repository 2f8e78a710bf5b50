/** Youth justice service (youth offending team) feeds: people and outcomes (disposals). */
import { defineFeed } from './contract.ts';
import { date, oneOf, ref } from './fields.ts';
import { identityFields } from './identity.ts';

const id = identityFields();

export const people = defineFeed({
  source: 'youth_justice',
  feed: 'people',
  kind: 'people',
  description: 'Children known to the youth justice service (aged 10-17 at the offence). No NHS number or UPN.',
  fields: { ...id },
});

export const outcomes = defineFeed({
  source: 'youth_justice',
  feed: 'outcomes',
  kind: 'events',
  description:
    "Outcomes for a child: out-of-court (community_resolution, youth_caution, youth_conditional_caution) or court (referral_order, youth_rehabilitation_order, custodial_sentence); first_time_entrant is Y when this is the child's first caution or conviction (a first-time entrant to the youth justice system).",
  fields: {
    record_ref: ref('Reference of the outcome, unique within the feed.'),
    person_ref: ref("The child's person_ref in youth_justice/people."),
    outcome_date: date('Date of the outcome (disposal).', { required: true }),
    outcome: oneOf(
      [
        'community_resolution',
        'youth_caution',
        'youth_conditional_caution',
        'referral_order',
        'youth_rehabilitation_order',
        'custodial_sentence',
      ],
      'The disposal.',
    ),
    first_time_entrant: oneOf(
      ['Y', 'N'],
      'Y when this is the first caution or conviction (community resolutions are never first-time entries).',
    ),
  },
  checks: [
    {
      field: 'first_time_entrant',
      reason: 'inconsistent',
      rule: 'a community resolution does not make a first-time entrant',
      ok: (r) => !(r.outcome === 'community_resolution' && r.first_time_entrant === 'Y'),
    },
  ],
});

export const YOUTH_JUSTICE_FEEDS = [people, outcomes];
