/** Children's social care feeds: people, episodes, relationships. */
import { defineFeed, notBefore } from './contract.ts';
import { date, oneOf, ref } from './fields.ts';
import { identityFields, nhsNumberToken } from './identity.ts';

const id = identityFields();

export const people = defineFeed({
  source: 'social_care',
  feed: 'people',
  kind: 'people',
  description: "People recorded in the children's social care case management system (children and their adults).",
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

export const episodes = defineFeed({
  source: 'social_care',
  feed: 'episodes',
  kind: 'events',
  description: 'Episodes of a child; blank end_date means open.',
  fields: {
    record_ref: ref('Reference of the episode, unique within the feed.'),
    person_ref: ref("The child's person_ref in social_care/people."),
    episode_type: oneOf(
      ['contact', 'referral', 'early_help_assessment', 'child_in_need', 'child_protection_plan', 'looked_after'],
      'Kind of episode.',
    ),
    start_date: date('Start of the episode.', { required: true }),
    end_date: date('End of the episode; blank while open.'),
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

export const relationships = defineFeed({
  source: 'social_care',
  feed: 'relationships',
  kind: 'relationships',
  description: "person_ref IS the <relationship> OF related_person_ref; group_ref is the case's family grouping.",
  fields: {
    record_ref: ref('Reference of the relationship row, unique within the feed.'),
    person_ref: ref('The person who IS the relationship (e.g. the mother), in social_care/people.'),
    related_person_ref: ref('The person they are it OF (e.g. the child), in social_care/people.'),
    relationship: oneOf(
      ['mother', 'father', 'carer', 'step_parent', 'grandparent', 'sibling'],
      'What person_ref is to related_person_ref.',
    ),
    group_ref: ref("The case's family grouping; blank when none.", { required: false }),
    start_date: date('Start of the relationship as recorded; blank when unknown.'),
    end_date: date('End of the relationship; blank while current.'),
  },
  checks: [
    {
      field: 'related_person_ref',
      reason: 'inconsistent',
      rule: 'a person cannot be related to themselves',
      ok: (r) => r.related_person_ref !== r.person_ref,
    },
    {
      field: 'end_date',
      reason: 'date_out_of_range',
      rule: 'end_date must not be before start_date',
      ok: (r) => notBefore(r, 'start_date', 'end_date'),
    },
  ],
});

export const SOCIAL_CARE_FEEDS = [people, episodes, relationships];
