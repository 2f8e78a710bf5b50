/** Police feeds: people (nominals) and incidents. */
import { defineFeed } from './contract.ts';
import { date, oneOf, postcode, ref } from './fields.ts';
import { identityFields } from './identity.ts';

const id = identityFields();

export const people = defineFeed({
  source: 'police',
  feed: 'people',
  kind: 'people',
  description: 'Nominals linked to incidents. Police hold no NHS number or UPN.',
  fields: { ...id },
});

export const incidents = defineFeed({
  source: 'police',
  feed: 'incidents',
  kind: 'events',
  description: 'One row per person per incident; postcode is where it happened.',
  fields: {
    record_ref: ref('Reference of this person-in-incident row, unique within the feed.'),
    incident_ref: ref('Reference of the incident (shared by everyone involved in it).'),
    person_ref: ref("The person's person_ref in police/people."),
    incident_date: date('Date of the incident.', { required: true }),
    incident_type: oneOf(
      ['domestic_abuse', 'missing_from_home', 'anti_social_behaviour', 'crime'],
      'Kind of incident.',
    ),
    role: oneOf(
      ['victim', 'perpetrator', 'child_present', 'missing_person', 'suspect', 'witness', 'involved'],
      "The person's role in the incident.",
    ),
    postcode: postcode('Postcode where the incident happened.'),
  },
});

export const familyIncidents = defineFeed({
  source: 'police',
  feed: 'family_incidents',
  kind: 'events',
  description:
    "Non-crime family incidents: one row per person per incident. category is non_crime_domestic (a domestic incident recorded as non-crime: arguments, parental conflict), child_to_parent_violence (a child under 18 violent or abusive to a parent or carer) or parental_conflict (a call-out about separated parents' conflict, e.g. at a handover).",
  fields: {
    record_ref: ref('Reference of this person-in-incident row, unique within the feed.'),
    incident_ref: ref('Reference of the incident (shared by everyone involved in it).'),
    person_ref: ref("The person's person_ref in police/people."),
    incident_date: date('Date of the incident.', { required: true }),
    category: oneOf(
      ['non_crime_domestic', 'child_to_parent_violence', 'parental_conflict'],
      'Kind of family incident.',
    ),
    role: oneOf(['victim', 'perpetrator', 'child_present', 'involved'], "The person's role in the incident."),
  },
});

export const POLICE_FEEDS = [people, incidents, familyIncidents];
