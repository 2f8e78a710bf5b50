import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatValidateReport, validateLanding } from '../../pipelines/cli/commands/validate.ts';
import { testTree, type TestTree } from './validate-support.ts';

let t: TestTree;
beforeEach(async () => {
  t = await testTree();
});
afterEach(async () => t.dispose());

describe('locality validate', () => {
  it('checks a landing dir for an as-at date: per-file counts, rejected files and where the quarantine is', async () => {
    await t.put(
      'police/people/dt=2026-01-10/people.csv',
      'person_ref,forename,surname,date_of_birth,sex,postcode,address_line_1\nP1,A,B,,,,\nP2,A,B,2026-02-30,,,\n',
    );
    await t.put('police/people/dt=2026-03-10/people.csv', 'not read: after the as-at date\n');
    await t.put('police/incidents/dt=2026-01-10/incidents.txt', 'x\n');
    const r = await validateLanding({ landing: t.landing, out: t.out, asAt: '2026-01-15' });
    expect(r.totals).toEqual({ files: 2, rejected: 1, rows: 2, accepted: 1, quarantined: 1, rejectedRows: 0 });
    expect(r.quarantineDir).toBe(join(t.out, 'secure', 'as_at=2026-01-15', 'quarantine'));
    const text = formatValidateReport(r, join(t.out, 'secure'));
    expect(text).toMatch(/police\/people\/dt=2026-01-10\/people.csv\s+2\s+1\s+1\s+invalid_date 1/);
    expect(text).toMatch(/police\/incidents\/dt=2026-01-10\/incidents.txt\s+0\s+-\s+-\s+REJECTED: not a .csv file/);
    expect(text).toMatch(/2 files \(1 rejected\): 2 rows = 1 accepted \+ 1 quarantined/);
    expect(text).toContain(`quarantine (clear data, secure zone): ${r.quarantineDir}/`);
  });

  it('defaults the as-at date to the latest extract', async () => {
    await t.put(
      'police/people/dt=2026-01-10/people.csv',
      'person_ref,forename,surname,date_of_birth,sex,postcode,address_line_1\nP1,A,B,,,,\n',
    );
    await t.put(
      'police/people/dt=2026-02-10/people.csv',
      'person_ref,forename,surname,date_of_birth,sex,postcode,address_line_1\nP1,A,B,,,,\nP2,C,D,,,,\n',
    );
    const r = await validateLanding({ landing: t.landing, out: t.out });
    expect(r.asAt).toBe('2026-02-10');
    expect(r.totals).toMatchObject({ files: 1, rows: 2, accepted: 2 });
  });
});
