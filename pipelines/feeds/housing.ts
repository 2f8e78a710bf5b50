/** Housing feeds (the council's housing options / homelessness service and landlord records): people, homelessness, temporary accommodation, tenancy actions. */
import { defineFeed, notBefore } from './contract.ts';
import { date, integer, oneOf, ref } from './fields.ts';
import { identityFields } from './identity.ts';

const id = identityFields();

export const people = defineFeed({
  source: 'housing',
  feed: 'people',
  kind: 'people',
  description:
    'Applicants and household members known to the housing service (homelessness case management and the landlord system). Housing holds no NHS number or UPN.',
  fields: { ...id },
});

export const homelessness = defineFeed({
  source: 'housing',
  feed: 'homelessness',
  kind: 'events',
  description:
    'Homelessness applications (H-CLIC): one row per application and household member; duty is the duty owed after assessment.',
  fields: {
    record_ref: ref('Reference of this application-member row, unique within the feed.'),
    person_ref: ref("The person's person_ref in housing/people."),
    application_date: date('Date the application (approach) was made.', { required: true }),
    duty: oneOf(
      ['prevention', 'relief', 'main', 'none'],
      'Duty owed: prevention (threatened with homelessness within 56 days), relief (homeless), main (the main housing duty), none (no duty owed).',
    ),
    duty_end_date: date('Date the duty ended; blank while it is owed.'),
  },
  checks: [
    {
      field: 'duty_end_date',
      reason: 'date_out_of_range',
      rule: 'duty_end_date must not be before application_date',
      ok: (r) => notBefore(r, 'application_date', 'duty_end_date'),
    },
  ],
});

export const temporaryAccommodation = defineFeed({
  source: 'housing',
  feed: 'temporary_accommodation',
  kind: 'events',
  description:
    'Temporary accommodation placements: one row per placement and household member; blank end_date means still placed.',
  fields: {
    record_ref: ref('Reference of this placement-member row, unique within the feed.'),
    person_ref: ref("The person's person_ref in housing/people."),
    placement_type: oneOf(
      ['bed_and_breakfast', 'hostel', 'private_sector_leased', 'council_stock', 'other'],
      'Kind of temporary accommodation.',
    ),
    start_date: date('First night of the placement.', { required: true }),
    end_date: date('Last night of the placement; blank while placed.'),
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

export const tenancyActions = defineFeed({
  source: 'housing',
  feed: 'tenancy_actions',
  kind: 'events',
  description:
    'Arrears and possession actions on a tenancy, against the tenant: rent arrears escalated, notice seeking possession served, possession order, eviction.',
  fields: {
    record_ref: ref('Reference of the action, unique within the feed.'),
    person_ref: ref("The tenant's person_ref in housing/people."),
    action_date: date('Date of the action.', { required: true }),
    action: oneOf(
      ['rent_arrears', 'notice_seeking_possession', 'possession_order', 'eviction'],
      'The action: rent_arrears (arrears escalated to the income team), notice_seeking_possession, possession_order, eviction.',
    ),
    arrears_weeks: integer('Rent arrears at the action, in weeks of rent; blank when not known.', 0, 520),
  },
});

export const HOUSING_FEEDS = [people, homelessness, temporaryAccommodation, tenancyActions];
