/** Police feeds: people (nominals) and incidents. */
import { defineFeed } from './contract.ts';
import { date, oneOf, postcode, ref } from './fields.ts';
import { identityFields } from './identity.ts';

const id = identityFields();

export const people = defineFeed({
  source: 'police', feed: 'people', kind: 'people',
  description: 'Nominals linked to incidents. Police hold no NHS number or UPN.',
  fields: { ...id },
});

export const incidents = defineFeed({
  source: 'police', feed: 'incidents', kind: 'events',
  description: "One row per person per incident; postcode is where it happened.",
  fields: {
    record_ref: ref('Reference of this person-in-incident row, unique within the feed.'),
    incident_ref: ref('Reference of the incident (shared by everyone involved in it).'),
    person_ref: ref("The person's person_ref in police/people."),
    incident_date: date('Date of the incident.', { required: true }),
    incident_type: oneOf(['domestic_abuse', 'missing_from_home', 'anti_social_behaviour', 'crime'], 'Kind of incident.'),
    role: oneOf(['victim', 'perpetrator', 'child_present', 'missing_person', 'suspect', 'witness', 'involved'], "The person's role in the incident."),
    postcode: postcode('Postcode where the incident happened.'),
  },
});

export const POLICE_FEEDS = [people, incidents];
