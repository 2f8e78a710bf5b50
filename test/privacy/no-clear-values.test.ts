/**
 * No clear value in any message, log, manifest or published file, from any error path: a distinctive name, date of
 * birth, postcode and address are planted in rows and files that hit validate's error paths (an invalid field value,
 * a wrong field count, broken quoting, CR-only line ends, a data row where the header should be, a file that is not
 * UTF-8), the pipeline is run through the CLI twice (onRejectedFile continue, then fail), and every file outside the
 * secure zone (outputs/, curated/), stdout and stderr (logs at debug level) are searched for them. The secure zone
 * (person records, validated rows, the quarantine) may hold them; it is not searched.
 */
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filesUnder, plantedFinder, plantedOutsideSecure } from '../support/planted-values.ts';

const SAMPLE = join(import.meta.dirname, '../../fixtures/samples/small/landing');
const ROOT = join(import.meta.dirname, '../..');
const AS_AT = '2026-10-31';
const PLANTED = ['ZEBEDEE', 'QUILLFEATHER', '1931-07-23', '23/07/1931', 'M46 0QX', 'M460QX', 'PLANTATION ROW'];
let dir: string;
let landing: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'no-clear-values-'));
  landing = join(dir, 'landing');
  await cp(SAMPLE, landing, { recursive: true });
  const dt = (source: string, feed: string) => join(landing, source, feed, `dt=${AS_AT}`);
  // rows of a people feed: an invalid value (sex), a wrong field count, broken quoting, a date of birth after the as-at date
  await appendFile(
    join(dt('health', 'people'), 'people.csv'),
    [
      'HLTPLANT1,,ZEBEDEE,QUILLFEATHER,1931-07-23,Q,M46 0QX,9 Plantation Row,P84095',
      'HLTPLANT2,,ZEBEDEE,QUILLFEATHER,1931-07-23,F,M46 0QX',
      'HLTPLANT3,,"ZEBEDEE"x,QUILLFEATHER,1931-07-23,F,M46 0QX,9 Plantation Row,P84095',
      'HLTPLANT4,,ZEBEDEE,QUILLFEATHER,2031-07-23,F,M460QX,9 Plantation Row,P84095',
      '',
    ].join('\n'),
  );
  const people = (await readFile(join(dt('police', 'people'), 'people.csv'), 'utf8')).split('\n');
  // CR-only line ends (a whole file rejected), in an event feed read beside the usual file
  const incidentsHeader = (await readFile(join(dt('police', 'incidents'), 'incidents.csv'), 'utf8')).split('\n')[0]!;
  await writeFile(
    join(dt('police', 'incidents'), 'cr-only.csv'),
    `${incidentsHeader}\rZEBEDEE QUILLFEATHER,1931-07-23,M46 0QX,9 Plantation Row\r23/07/1931,ZEBEDEE,ZEBEDEE\r`,
  );
  // a data row where the header should be (its cells repeat, and no column is found)
  await writeFile(
    join(dt('social_care', 'episodes'), 'no-header.csv'),
    'ZEBEDEE,QUILLFEATHER,1931-07-23,M46 0QX,ZEBEDEE,QUILLFEATHER\nZEBEDEE,QUILLFEATHER,23/07/1931,M460QX,x,y\n',
  );
  await writeFile(
    join(dt('social_care', 'relationships'), 'wrong-header.csv'),
    'ZEBEDEE,QUILLFEATHER,1931-07-23,M46 0QX\n1,2,3,4\n',
  );
  // not UTF-8 (Latin-1), the bad byte in a row holding the planted values
  await writeFile(
    join(dt('schools', 'contacts'), 'latin1.csv'),
    Buffer.concat([
      Buffer.from(
        `${(await readFile(join(dt('schools', 'contacts'), 'contacts.csv'), 'utf8')).split('\n')[0]}\nZEBEDEE,QUILLF`,
      ),
      Buffer.from([0xc9]),
      Buffer.from('ATHER,1931-07-23,M46 0QX,9 Plantation Row\n'),
    ]),
  );
  expect(people.length).toBeGreaterThan(2);
}, 60_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const found = plantedFinder(PLANTED);
const searchPublished = (out: string) => plantedOutsideSecure(out, PLANTED);

function run(out: string, config?: string) {
  const args = [
    '--import',
    'tsx',
    'pipelines/cli/main.ts',
    'run',
    '--landing',
    landing,
    '--out',
    out,
    '--as-at',
    AS_AT,
    ...(config ? ['--config', config] : []),
  ];
  return spawnSync(process.execPath, args, {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, LOG_LEVEL: 'debug' },
  });
}

describe('no clear value leaves the secure zone from an error path', () => {
  it('a run that carries on past rejected files: outputs, curated tables, stdout and logs hold none of the planted values', async () => {
    const out = join(dir, 'out-continue');
    const r = run(out);
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    // the error paths were hit: the planted rows quarantined, the planted files rejected (counts in the secure zone)
    const counts = async (source: string, feed: string) =>
      JSON.parse(
        await readFile(join(out, 'secure', `as_at=${AS_AT}`, 'validated', source, feed, '_counts.json'), 'utf8'),
      ) as {
        files: Array<{ key: string; status: string; error?: string; quarantinedByReason: Record<string, number> }>;
      };
    const health = (await counts('health', 'people')).files.find((f) => f.key.endsWith(`dt=${AS_AT}/people.csv`))!;
    expect(Object.keys(health.quarantinedByReason)).toEqual(expect.arrayContaining(['bad_quoting', 'field_count']));
    const rejected = [
      ...(await counts('police', 'incidents')).files,
      ...(await counts('social_care', 'episodes')).files,
      ...(await counts('social_care', 'relationships')).files,
      ...(await counts('schools', 'contacts')).files,
    ].filter((f) => f.status === 'rejected');
    expect(rejected.map((f) => f.key.split('/').pop()).sort()).toEqual([
      'cr-only.csv',
      'latin1.csv',
      'no-header.csv',
      'wrong-header.csv',
    ]);
    for (const f of rejected) expect(found(f.error ?? '', f.key)).toEqual([]);
    expect(r.stderr).toMatch(/"level":"(DEBUG|INFO)"/i);
    expect([...found(r.stdout, 'stdout'), ...found(r.stderr, 'stderr/logs'), ...(await searchPublished(out))]).toEqual(
      [],
    );
  }, 240_000);

  it('a run failed by a rejected file (onRejectedFile: fail): the manifest, the error and the logs hold none either', async () => {
    const out = join(dir, 'out-fail');
    const config = join(dir, 'fail.json');
    await writeFile(config, JSON.stringify({ validate: { onRejectedFile: 'fail' } }));
    const r = run(out, config);
    expect(r.status).toBe(1);
    // the failed run's manifest, wherever the release layout keeps it outside the secure zone
    const manifests = (await filesUnder(join(out, 'outputs'))).filter((p) => p.endsWith('manifest.json'));
    expect(manifests.length).toBeGreaterThan(0);
    const manifest = (await Promise.all(manifests.map((p) => readFile(p, 'utf8')))).join('\n');
    expect(manifest).toMatch(/"status": "failed"/);
    expect(manifest).toMatch(/line ends are CR only/);
    expect([...found(r.stdout, 'stdout'), ...found(r.stderr, 'stderr/logs'), ...(await searchPublished(out))]).toEqual(
      [],
    );
  }, 240_000);
});
