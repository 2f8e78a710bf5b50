/** The identity columns every people feed carries (IDENTITY_COLUMNS in catalogue.ts), as field specs. */
import { date, oneOf, postcode, ref, text, token, type Field } from './fields.ts';

export function identityFields(): Record<
  'person_ref' | 'forename' | 'surname' | 'date_of_birth' | 'sex' | 'postcode' | 'address_line_1',
  Field
> {
  return {
    person_ref: ref("The provider's own reference for the person, stable across extracts."),
    forename: text('Given name(s) as recorded; blank when unknown.', { kind: 'name' }),
    surname: text('Family name as recorded; blank when unknown.', { kind: 'name' }),
    date_of_birth: date('Date of birth; blank when unknown.'),
    sex: oneOf(['M', 'F', 'U'], 'Sex: M, F or U (unknown); blank when not recorded.', { required: false }),
    postcode: postcode('Home postcode as recorded (typos are kept and handled in standardise).'),
    address_line_1: text('First line of the home address.', { max: 200 }),
  };
}

export const nhsNumberToken = (): Field =>
  token(
    'HMAC-SHA256 token of the check-digit-validated NHS number (64 lowercase hex); blank when unknown. Never the raw number.',
  );
export const upnToken = (): Field =>
  token(
    'HMAC-SHA256 token of the check-letter-validated UPN (64 lowercase hex); blank when unknown. Never the raw UPN.',
  );
