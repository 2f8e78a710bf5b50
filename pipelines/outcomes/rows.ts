/**
 * Contact outcomes from early help leads: the rows a lead fills in (CSV, or the "Outcomes" sheet of the target-list
 * XLSX), validated all at once. Every bad row is reported by line and field; nothing is imported until all are valid.
 */
import { isIsoDate } from '../layout.ts';

export const OUTCOMES = [
  'contacted',
  'worked_with',
  'declined',
  'not_appropriate',
  'could_not_contact',
  'already_known',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** The columns, in the order the XLSX "Outcomes" sheet and the CSV template have them. */
export const OUTCOME_COLUMNS = [
  'family_id',
  'date',
  'outcome',
  'lead_practitioner',
  'case_opened',
  'case_closed',
] as const;

export interface OutcomeRow {
  familyId: string;
  date: string;
  outcome: Outcome;
  leadPractitioner: string;
  caseOpened: string | null;
  caseClosed: string | null;
}

export interface RawRow {
  line: number;
  cells: Record<string, string>;
}

const FAMILY_ID = /^F[0-9a-f]{12}$/;

/** Validates rows; throws one error naming the file and every bad line and field. Rows with only a family id are blank (skipped). */
export function validateOutcomeRows(
  rows: readonly RawRow[],
  origin: string,
  knownFamily: (id: string) => boolean,
): { rows: OutcomeRow[]; blank: number } {
  const problems: string[] = [];
  const out: OutcomeRow[] = [];
  let blank = 0;
  for (const { line, cells } of rows) {
    const v = (k: string) => (cells[k] ?? '').trim();
    if (OUTCOME_COLUMNS.every((k) => k === 'family_id' || v(k) === '')) {
      blank += 1;
      continue;
    }
    const bad = (field: string, why: string) => problems.push(`line ${line}, field ${field}: ${why}`);
    const before = problems.length;
    const familyId = v('family_id');
    if (!FAMILY_ID.test(familyId)) bad('family_id', familyId ? 'not a family id (F and 12 hex digits)' : 'blank');
    else if (!knownFamily(familyId)) bad('family_id', 'not a family in any run under --out');
    const date = v('date');
    if (!isIsoDate(date)) bad('date', date ? 'not a date (YYYY-MM-DD)' : 'blank');
    const outcome = v('outcome').toLowerCase().replaceAll(' ', '_').replaceAll('-', '_');
    if (!(OUTCOMES as readonly string[]).includes(outcome))
      bad('outcome', `${v('outcome') ? 'not one of' : 'blank; one of'} ${OUTCOMES.join(', ')}`);
    const lead = v('lead_practitioner');
    if (!lead) bad('lead_practitioner', 'blank');
    const opt = (k: string): string | null => {
      const x = v(k);
      if (x === '') return null;
      if (!isIsoDate(x)) bad(k, 'not a date (YYYY-MM-DD)');
      return x;
    };
    const caseOpened = opt('case_opened');
    const caseClosed = opt('case_closed');
    if (caseOpened && caseClosed && caseClosed < caseOpened && isIsoDate(caseOpened) && isIsoDate(caseClosed))
      bad('case_closed', 'before case_opened');
    if (caseClosed && !caseOpened) bad('case_opened', 'blank while case_closed is given');
    if (problems.length === before)
      out.push({ familyId, date, outcome: outcome as Outcome, leadPractitioner: lead, caseOpened, caseClosed });
  }
  if (problems.length > 0)
    throw new Error(`${origin}: ${problems.length} bad row field(s), nothing imported:\n  ${problems.join('\n  ')}`);
  return { rows: out, blank };
}
