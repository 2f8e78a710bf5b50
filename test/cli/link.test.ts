/** End to end: `locality link` on the committed sample (test/fixtures/link), in-process and as the CLI. */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLink } from '../../pipelines/cli/commands/link.ts';

const run = promisify(execFile);
const SAMPLE = 'test/fixtures/link/people.csv';
const SETTINGS = 'test/fixtures/link/settings.json';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'link-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function csv(path: string): Promise<Array<Record<string, string>>> {
  const [head, ...lines] = (await readFile(path, 'utf8')).trim().split('\n');
  const cols = head!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i]!, v])));
}

/** The sample's true persons: records sharing the `person` column. */
async function truth(): Promise<Map<string, string>> {
  const rows = (await readFile(SAMPLE, 'utf8'))
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(',').map((x) => x.trim()));
  return new Map(rows.map((r) => [r[0]!, r.at(-1)!]));
}

describe('link command', () => {
  it('dedupes the sample into its persons and writes clusters, pairs, model, clustering and explanations', async () => {
    const out = join(dir, 'dedupe');
    const { files } = await runLink({ settings: SETTINGS, out, inputs: [SAMPLE], explain: 3, workers: 0 });
    expect(files).toEqual(['clusters.csv', 'pairs.csv', 'model.json', 'clustering.json', 'explanations.json']);
    const clusters = await csv(join(out, 'clusters.csv'));
    expect(clusters).toHaveLength(30);
    const t = await truth();
    // same person <=> same cluster, for every pair of records
    for (const a of clusters)
      for (const b of clusters) {
        if (a.unique_id! >= b.unique_id!) continue;
        expect(`${a.unique_id} ${b.unique_id} ${a.cluster_id === b.cluster_id}`).toBe(
          `${a.unique_id} ${b.unique_id} ${t.get(a.unique_id!) === t.get(b.unique_id!)}`,
        );
      }
    const pairs = await csv(join(out, 'pairs.csv'));
    expect(Object.keys(pairs[0]!)).toEqual([
      'unique_id_l',
      'unique_id_r',
      'match_weight',
      'match_probability',
      'match_key',
    ]);
    for (const p of pairs) expect(Number(p.match_probability)).toBeGreaterThanOrEqual(0.5);
    const model = JSON.parse(await readFile(join(out, 'model.json'), 'utf8'));
    expect(model.comparisons.map((c: { name: string }) => c.name)).toEqual([
      'given_name',
      'surname',
      'date_of_birth',
      'postcode',
      'address_1',
      'soc_sec_id',
      'state',
    ]);
    expect(model.blocking.rules.map((r: { rule: string }) => r.rule)).toEqual([
      'given_name & surname',
      'date_of_birth',
      'soc_sec_id',
    ]);
    expect(model.prior.source).toBe('deterministic_rules');
    const ex = JSON.parse(await readFile(join(out, 'explanations.json'), 'utf8'));
    expect(ex.pairs).toHaveLength(3);
    expect(ex.pairs[0].comparisons).toHaveLength(7);
    // all pairs: more rows, same header
    const all = join(dir, 'all');
    await runLink({ settings: SETTINGS, out: all, inputs: [SAMPLE], allPairs: true, workers: 0 });
    expect((await csv(join(all, 'pairs.csv'))).length).toBe(model.blocking.candidatePairs);
  });

  it('is byte-identical run to run (and with or without worker threads)', async () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    await runLink({ settings: SETTINGS, out: a, inputs: [SAMPLE], workers: 0 });
    await runLink({ settings: SETTINGS, out: b, inputs: [SAMPLE], workers: 2 });
    for (const f of ['clusters.csv', 'pairs.csv', 'model.json', 'clustering.json'])
      expect(await readFile(join(b, f), 'utf8')).toBe(await readFile(join(a, f), 'utf8'));
  });

  it("links two files (link_only) and names each record's source_dataset", async () => {
    const lines = (await readFile(SAMPLE, 'utf8')).trim().split('\n');
    const left = [lines[0], ...lines.slice(1).filter((_, i) => i % 2 === 0)].join('\n');
    const right = [lines[0], ...lines.slice(1).filter((_, i) => i % 2 === 1)].join('\n');
    await writeFile(join(dir, 'left.csv'), `${left}\n`);
    await writeFile(join(dir, 'right.csv'), `${right}\n`);
    const settings = JSON.parse(await readFile(SETTINGS, 'utf8'));
    await writeFile(join(dir, 'link.json'), JSON.stringify({ ...settings, linkType: 'link_only' }));
    const out = join(dir, 'link');
    await runLink({
      settings: join(dir, 'link.json'),
      out,
      inputs: [join(dir, 'left.csv'), join(dir, 'right.csv')],
      workers: 0,
    });
    const clusters = await csv(join(out, 'clusters.csv'));
    expect(Object.keys(clusters[0]!)).toEqual(['unique_id', 'source_dataset', 'cluster_id']);
    expect(new Set(clusters.map((c) => c.source_dataset))).toEqual(new Set(['left.csv', 'right.csv']));
    const pairs = await csv(join(out, 'pairs.csv'));
    expect(pairs.length).toBeGreaterThan(0);
    for (const p of pairs) expect(p.source_dataset_l).not.toBe(p.source_dataset_r);
    // link_and_dedupe also pairs records within each input
    await writeFile(join(dir, 'both.json'), JSON.stringify({ ...settings, linkType: 'link_and_dedupe' }));
    const both = join(dir, 'both');
    await runLink({
      settings: join(dir, 'both.json'),
      out: both,
      inputs: [join(dir, 'left.csv'), join(dir, 'right.csv')],
      workers: 0,
    });
    const bothPairs = await csv(join(both, 'pairs.csv'));
    expect(bothPairs.some((p) => p.source_dataset_l === p.source_dataset_r)).toBe(true);
    expect(bothPairs.length).toBeGreaterThan(pairs.length);
  });

  it('trains m from clerical labels named in the settings (path relative to the settings file)', async () => {
    const settings = JSON.parse(await readFile(SETTINGS, 'utf8'));
    await writeFile(
      'test/fixtures/link/.labelled-settings.tmp.json',
      JSON.stringify({ ...settings, labelledPairs: 'labels.csv' }),
    );
    try {
      const out = join(dir, 'labels');
      const { result } = await runLink({
        settings: 'test/fixtures/link/.labelled-settings.tmp.json',
        out,
        inputs: [SAMPLE],
        workers: 0,
      });
      expect(result.model.comparisons.every((c) => c.mSource === 'labels')).toBe(true);
      // EM still runs: its m is kept beside the labels' for comparison
      expect(result.model.em.sessions.length).toBeGreaterThan(0);
      expect(result.model.labels).toEqual({ labelledPairs: 'labels.csv', matches: 15 });
      expect(
        result.model.comparisons.every((c) =>
          c.levels.slice(1).every((l) => typeof l.mEm === 'number' || l.mEm === null),
        ),
      ).toBe(true);
      // 15 labelled matches, 6 with the soc_sec_id missing on one side (null level), 9 exact: m = 9 / (9 + 0.5)
      expect(result.model.comparisons[5]!.levels[1]!.m).toBeCloseTo(9 / 9.5, 9);
    } finally {
      await rm('test/fixtures/link/.labelled-settings.tmp.json', { force: true });
    }
  });

  it('says clearly what is wrong: missing column, unknown type, unreadable file, bad settings', async () => {
    const bad = async (patch: object) => {
      const p = join(dir, `bad-${Math.random().toString(36).slice(2)}.json`);
      await writeFile(p, JSON.stringify({ ...JSON.parse(await readFile(SETTINGS, 'utf8')), ...patch }));
      return p;
    };
    await expect(
      runLink({
        settings: await bad({ comparisons: [{ column: 'middle_name', type: 'name' }] }),
        out: join(dir, 'x'),
        inputs: [SAMPLE],
        workers: 0,
      }),
    ).rejects.toThrow(
      'people.csv: no column "middle_name" (columns are: rec_id, given_name, surname, date_of_birth, postcode, address_1, soc_sec_id, state, person)',
    );
    await expect(
      runLink({
        settings: await bad({ comparisons: [{ column: 'surname', type: 'soundalike' }] }),
        out: join(dir, 'x'),
        inputs: [SAMPLE],
        workers: 0,
      }),
    ).rejects.toThrow(/comparisons\.0\.type: unknown comparison type "soundalike"/);
    await expect(
      runLink({ settings: SETTINGS, out: join(dir, 'x'), inputs: ['test/fixtures/link/absent.csv'], workers: 0 }),
    ).rejects.toThrow(/test\/fixtures\/link\/absent.csv: cannot read/);
    await expect(
      runLink({ settings: await bad({ blockingRules: [] }), out: join(dir, 'x'), inputs: [SAMPLE], workers: 0 }),
    ).rejects.toThrow(/blockingRules/);
  });

  it(
    'runs as the CLI: summary on stdout, exit code 1 and a one-line error on failure',
    { timeout: 120_000 },
    async () => {
      const tsx = join('node_modules', 'tsx', 'dist', 'cli.mjs');
      const out = join(dir, 'cli');
      const ok = await run(process.execPath, [
        tsx,
        'pipelines/cli/main.ts',
        'link',
        '--settings',
        SETTINGS,
        '--out',
        out,
        SAMPLE,
      ]);
      expect(ok.stdout).toMatch(
        /^linked 30 records: \d+ candidate pairs scored, \d+ at or above p=0\.500, 15 clusters, 0 merges refused/,
      );
      const err = await run(process.execPath, [
        tsx,
        'pipelines/cli/main.ts',
        'link',
        '--settings',
        SETTINGS,
        '--out',
        out,
        'no-such.csv',
      ]).catch((e: { code: number; stderr: string }) => e);
      expect(err).toMatchObject({ code: 1 });
      expect((err as { stderr: string }).stderr).toMatch(/error: no-such\.csv: cannot read/);
    },
  );
});
