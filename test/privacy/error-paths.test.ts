/**
 * No clear value in any message, log or manifest from a failing stage: a distinctive person (a valid people row, so
 * in the person records) is planted in the input each error path reads, the pipeline is run through the CLI, and
 * stdout, stderr (logs at debug level) and every file outside the secure zone (outputs/, with the failed run's
 * manifest, and curated/) are searched for the planted values. Paths: a run config with the values in bad settings
 * (nothing runs); standardise with an unreadable ref key; match with a labelled-pairs file that holds the values;
 * families with a postcode directory that lost its header row; publish with a ward name that is the person's full
 * name (the privacy scan fails the run). (Validate's error paths: no-clear-values.test.ts.)
 */
import { spawnSync } from 'node:child_process';
import { appendFile, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filesUnder, plantedFinder, plantedOutsideSecure } from '../support/planted-values.ts';

const SAMPLE = join(import.meta.dirname, '../../fixtures/samples/small/landing');
const LOOKUPS = join(import.meta.dirname, '../../fixtures/lookups');
const ROOT = join(import.meta.dirname, '../..');
const AS_AT = '2026-10-31';
const PLANTED = ['ZEBEDEE', 'QUILLFEATHER', '1931-07-23', '23/07/1931', 'M46 0QX', 'M460QX', 'PLANTATION'];
let dir: string;
let landing: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'error-paths-'));
  landing = join(dir, 'landing');
  await cp(SAMPLE, landing, { recursive: true });
  await appendFile(
    join(landing, 'health', 'people', `dt=${AS_AT}`, 'people.csv'),
    'HLTPLANT1,,ZEBEDEE,QUILLFEATHER,1931-07-23,F,M46 0QX,9 Plantation Row,P84095\n',
  );
}, 60_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const found = plantedFinder(PLANTED);
const searchOutside = (out: string) => plantedOutsideSecure(out, PLANTED);

async function run(name: string, config: unknown, before?: (out: string) => Promise<void>) {
  const out = join(dir, name);
  await mkdir(out, { recursive: true });
  const configFile = join(dir, `${name}.json`);
  await writeFile(configFile, JSON.stringify(config));
  await before?.(out);
  const r = spawnSync(
    process.execPath,
    [
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
      '--config',
      configFile,
    ],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'debug' } },
  );
  const manifests = (await filesUnder(join(out, 'outputs'))).filter((p) => p.endsWith('manifest.json'));
  const manifest = (await Promise.all(manifests.map((p) => readFile(p, 'utf8')))).join('\n');
  return {
    ...r,
    out,
    manifest,
    leaks: [...found(r.stdout, 'stdout'), ...found(r.stderr, 'stderr/logs'), ...(await searchOutside(out))],
  };
}

describe('no clear value from a failing stage', () => {
  it('config errors: bad values are named by their path, never quoted; nothing runs', async () => {
    const r = await run('config', {
      validate: { onRejectedFile: 'ZEBEDEE QUILLFEATHER' },
      publish: { disclosure: { suppressMax: 'M46 0QX' } },
      linkage: { thresholdProbability: '1931-07-23' },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/validate\.onRejectedFile/);
    expect(r.stderr).toMatch(/publish\.disclosure\.suppressMax/);
    expect(r.leaks).toEqual([]);
  }, 60_000);

  it('standardise: an unreadable ref key fails the stage without quoting it', async () => {
    const r = await run('standardise', {}, async (out) => {
      await mkdir(join(out, 'secure', 'keys'), { recursive: true });
      await writeFile(join(out, 'secure', 'keys', 'ref-pseudonym.key'), 'ZEBEDEE QUILLFEATHER 1931-07-23\n');
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/failed in standardise: .*not 64 hex characters/);
    expect(r.manifest).toMatch(/"status": "failed"/);
    expect(r.leaks).toEqual([]);
  }, 240_000);

  it('match: a labelled-pairs file holding the values fails the stage by line and column only', async () => {
    const r = await run('match', { linkage: { labelledPairs: `as_at=${AS_AT}/review/planted.csv` } }, async (out) => {
      await mkdir(join(out, 'secure', `as_at=${AS_AT}`, 'review'), { recursive: true });
      await writeFile(
        join(out, 'secure', `as_at=${AS_AT}`, 'review', 'planted.csv'),
        'unique_id_l,unique_id_r,clerical_match_score\nZEBEDEE QUILLFEATHER,1931-07-23,M46 0QX\n',
      );
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      /failed in match: .*line 2: needs unique_id_l, unique_id_r and a numeric clerical_match_score/,
    );
    expect(r.leaks).toEqual([]);
  }, 240_000);

  it('families: a postcode directory without its header row fails the stage without quoting its first row', async () => {
    const pd = join(dir, 'postcode-directory.csv');
    const lines = (await readFile(join(LOOKUPS, 'postcode-directory.csv'), 'utf8')).split('\n');
    await writeFile(
      pd,
      [lines[1]!.replace(/^[^,]*,[^,]*,[^,]*/, 'M46 0QX,M46 0QX,M46 0QX'), ...lines.slice(2)].join('\n'),
    );
    const r = await run('families', { stratify: { localities: { postcodeDirectory: pd } } });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/failed in families: .*the first line (is not|does not look like) a header/);
    expect(r.leaks).toEqual([]);
  }, 240_000);

  it("publish: a ward name that is a person's full name fails the privacy scan; nothing released, the error and manifest say how many and where, not what", async () => {
    const wards = join(dir, 'wards.csv');
    const lines = (await readFile(join(LOOKUPS, 'wards.csv'), 'utf8')).trim().split('\n');
    await writeFile(
      wards,
      [lines[0], ...lines.slice(1).map((l) => l.replace(/^([^,]*),[^,]*/, '$1,Zebedee Quillfeather'))].join('\n'),
    );
    const r = await run('publish', { stratify: { localities: { wardNames: wards } } });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/privacy scan FAILED: \d+ clear identifiers found/);
    expect(r.manifest).toMatch(/"status": "failed"/);
    expect(await filesUnder(join(r.out, 'outputs', `as_at=${AS_AT}`))).toEqual([]);
    expect(r.leaks).toEqual([]);
  }, 240_000);
});
