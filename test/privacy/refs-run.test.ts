/**
 * A whole run with identifiers planted in refs (the committed generated sample, 50 families): a child's missing-from-
 * home incidents get record refs made of his name (camel case, dots), his surname beside his date of birth and his
 * postcode; an incident ref is his date of birth; his person_ref (people feed and every event) is his surname and date
 * of birth; a record ref names a person whose own people row was quarantined; a group ref joins one person's forename
 * to another's surname. The run must pass its privacy scan and be released with the list still usable (the refs
 * replaced by keyed pseudonyms, which the secure-zone lookup table maps back), and no file outside the secure zone,
 * no line of stdout or the logs, and no secure record id a finding would quote may hold a planted value.
 */
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../../pipelines/io/local-object-store.ts';
import { readParquet } from '../../pipelines/io/parquet.ts';
import { keys, PERSON_RECORDS_KEY } from '../../pipelines/layout.ts';
import { formatOf, unitsOf } from '../../pipelines/privacy/extract.ts';
import { PSEUDONYM, refLookupKey, type RefLookupRow } from '../../pipelines/privacy/refs.ts';

const SAMPLE = join(import.meta.dirname, '../../fixtures/samples/small/landing');
const ROOT = join(import.meta.dirname, '../..');
const AS_AT = '2026-10-31';
let dir: string;
let landing: string;
/** Each planted ref, by the shape it hides an identifier in. */
const planted: Record<string, string> = {};

const csvFiles = async (root: string) =>
  (await readdir(root, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile() && e.name.endsWith('.csv'))
    .map((e) => join(e.parentPath, e.name));

/** Replace whole cells equal to `from` in every CSV under `root` (refs are unique, so a cell match is the ref). */
async function replaceCell(root: string, from: string, to: string, column?: number): Promise<number> {
  let n = 0;
  for (const f of await csvFiles(root)) {
    const text = await readFile(f, 'utf8');
    const out = text
      .split('\n')
      .map((line) =>
        line
          .split(',')
          .map((c, i) => (c === from && (column === undefined || i === column) ? (n++, to) : c))
          .join(','),
      )
      .join('\n');
    if (out !== text) await writeFile(f, out);
  }
  return n;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'refs-run-'));
  landing = join(dir, 'landing');
  await cp(SAMPLE, landing, { recursive: true });
  const police = join(landing, 'police');
  const people = (await readFile(join(police, 'people', `dt=${AS_AT}`, 'people.csv'), 'utf8'))
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((l) => l.split(','));
  const [ref, fore, sur, dob, , postcode] = people.find((r) => r[0] === 'NOM25662691')!;
  const other = people.find((r) => r[2] !== sur && r[1]!.length >= 3)!;
  const third = people.find((r) => r[2] !== sur && r[2] !== other[2] && r[2]!.length >= 3)!;
  const [y, m, d] = dob!.split('-');
  const [outward, inward] = postcode!.split(' ');
  const title = (s: string) => s[0]!.toUpperCase() + s.slice(1).toLowerCase();
  Object.assign(planted, {
    camelCase: `${title(fore!)}${title(sur!)}01`,
    dotted: `${title(fore!)}.${title(sur!)}.MFH1`,
    surnameDob: `${sur}-${dob}`,
    postcode: `REF-${outward}-${inward}`,
    dobAsRef: `${y}${m}${d}`,
    personRef: `${sur}_${d}${m}${y}`,
    quarantined: 'Zebedee.Quillfeather',
    thirdParty: `GRP-${title(other[1]!)}${title(third[2]!)}`,
  });
  // his missing-from-home incidents (they fire a rule: the refs reach the target list as evidence)
  expect(await replaceCell(police, 'PIR80989543', planted.camelCase!)).toBeGreaterThan(0);
  expect(await replaceCell(police, 'PIR29147840', planted.dotted!)).toBeGreaterThan(0);
  expect(await replaceCell(police, 'PIR32831246', planted.surnameDob!)).toBeGreaterThan(0);
  expect(await replaceCell(police, 'PIR77306137', planted.postcode!)).toBeGreaterThan(0);
  expect(await replaceCell(police, 'INC41282161', planted.dobAsRef!)).toBeGreaterThan(0);
  expect(await replaceCell(police, ref!, planted.personRef!)).toBeGreaterThan(2);
  // a person known only from a quarantined people row (an invalid sex), named by another incident's ref
  await appendFile(
    join(landing, 'health', 'people', `dt=${AS_AT}`, 'people.csv'),
    'HLTPLANT1,,ZEBEDEE,QUILLFEATHER,1931-07-23,Q,M46 0QX,9 Plantation Row,P84095\n',
  );
  expect(await replaceCell(police, 'PIR03363998', planted.quarantined!)).toBeGreaterThan(0);
  expect(
    await replaceCell(join(landing, 'social_care', 'relationships'), 'GRP4548259', planted.thirdParty!),
  ).toBeGreaterThan(0);
}, 60_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function filesUnder(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true, recursive: true }).catch(() => []))
    if (e.isFile()) out.push(join(e.parentPath, e.name));
  return out;
}

function found(text: string, where: string): string[] {
  const upper = text.toUpperCase();
  return Object.values(planted)
    .filter((p) => upper.includes(p.toUpperCase()))
    .map((p) => `${where}: ${p}`);
}

describe('refs that carry identifiers, through a whole run', () => {
  it('are replaced by keyed pseudonyms: the run passes its scan and is released, the list still cites them, nothing outside the secure zone holds one', async () => {
    const out = join(dir, 'out');
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'pipelines/cli/main.ts', 'run', '--landing', landing, '--out', out, '--as-at', AS_AT],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'debug' } },
    );
    expect(r.status, r.stdout.slice(-3000) + r.stderr.slice(-2000)).toBe(0);
    const secure = new LocalObjectStore(join(out, 'secure'));
    const outputs = new LocalObjectStore(join(out, 'outputs'));

    // re-identifiable in the secure zone: each planted ref has its pseudonym in the lookup table
    const lookup = (await secure.get(refLookupKey(AS_AT)))
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as RefLookupRow);
    const pseudonym = (ref: string) => lookup.find((l) => l.ref === ref)?.pseudonym;
    for (const p of Object.values(planted))
      expect(pseudonym(p) ?? `${p} not pseudonymised; lookup: ${JSON.stringify(lookup.map((l) => l.ref))}`, p).toMatch(
        PSEUDONYM,
      );
    expect(lookup.filter((l) => !Object.values(planted).includes(l.ref))).toEqual([]);

    // released, scan passed, the target list cites his incidents by pseudonym
    const manifest = JSON.parse(await readFile(join(out, 'outputs', keys.manifest(AS_AT)), 'utf8'));
    expect(manifest).toMatchObject({ status: 'ok', release: { state: 'released' } });
    const audit = JSON.parse((await outputs.get(`as_at=${AS_AT}/match-audit/report.json`)).toString());
    expect(JSON.stringify(audit)).toMatch(/"status":\s*"pass"/);
    const lists = (await filesUnder(join(out, 'outputs', `as_at=${AS_AT}`, 'target-lists'))).filter((f) =>
      f.endsWith('.csv'),
    );
    const listText = (await Promise.all(lists.map((f) => readFile(f, 'utf8')))).join('\n');
    for (const p of [planted.camelCase!, planted.dotted!, planted.surnameDob!, planted.postcode!])
      expect(listText).toContain(`ref ${pseudonym(p)} (`);

    // the record ids a finding quotes (secure person records) are built from the pseudonym, not the planted ref
    const records = await readParquet(secure, keys.secure(AS_AT, PERSON_RECORDS_KEY));
    expect(records.map((x) => String(x.record_id))).toContain(`police:people:${pseudonym(planted.personRef!)}`);
    expect(
      found(
        records.map((x) => `${String(x.record_id)} ${String(x.source_person_ref)}`).join('\n'),
        'person-records record ids',
      ),
    ).toEqual([]);

    // nothing outside the secure zone, on stdout or in the logs holds a planted ref
    const hits: string[] = [...found(r.stdout, 'stdout'), ...found(r.stderr, 'stderr/logs')];
    for (const zone of ['outputs', 'curated']) {
      const store = new LocalObjectStore(join(out, zone));
      for (const path of await filesUnder(join(out, zone))) {
        const key = relative(join(out, zone), path);
        const fmt = formatOf(key);
        let text = '';
        if (fmt === 'parquet' || fmt === 'xlsx') for await (const u of unitsOf(store, key)) text += `${u.text}\n`;
        else text = await readFile(path, 'utf8');
        hits.push(...found(text, `${zone}/${key}`));
      }
    }
    expect(hits).toEqual([]);
    expect(r.stdout).toMatch(/refsPseudonymised=8\b/);
  }, 240_000);
});
