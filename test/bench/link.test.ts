import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { splitCsvLine, readCsvRows } from '../../bench/link/csv.ts';
import { KeyResolver, scoreOutputs } from '../../bench/link/evaluate-outputs.ts';
import { runMeasured } from '../../bench/link/measure.ts';
import { SYNTHETIC_COLUMNS, SyntheticLinkageSet, writeSyntheticCsv } from '../../bench/link/synthetic.ts';
import { GroundTruth, recordKey, type TruthRecord } from '../../matching/evaluation.ts';

const dirs: string[] = [];
async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-link-test-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('synthetic linkage set', () => {
  it('is deterministic for a seed, different for another, and exactly the size asked', () => {
    const a = new SyntheticLinkageSet({ records: 3000, seed: 7 }).rows();
    const b = new SyntheticLinkageSet({ records: 3000, seed: 7 }).rows();
    const c = new SyntheticLinkageSet({ records: 3000, seed: 8 }).rows();
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a).toHaveLength(3000);
    for (const row of a) expect(row).toHaveLength(SYNTHETIC_COLUMNS.length - 1);
  });

  it('holds duplicates with errors, households that share an address, and plausible values', () => {
    const rows = new SyntheticLinkageSet({ records: 20_000, seed: 3 }).rows();
    const byCluster = new Map<string, string[][]>();
    for (const r of rows) byCluster.set(r[7] as string, [...(byCluster.get(r[7] as string) ?? []), r]);
    const sizes = [...byCluster.values()].map((v) => v.length);
    expect(Math.max(...sizes)).toBeGreaterThanOrEqual(4);
    expect(sizes.filter((s) => s === 1).length).toBeGreaterThan(byCluster.size / 3);
    // Some duplicates differ from each other in a name, a date of birth or a postcode.
    let differing = 0;
    for (const group of byCluster.values()) {
      if (group.length < 2) continue;
      const [x, y] = group as [string[], string[]];
      if (x[0] !== y[0] || x[1] !== y[1] || x[2] !== y[2] || x[4] !== y[4]) differing += 1;
    }
    expect(differing).toBeGreaterThan(500);
    // Different people at one address (households): the hard non-matches.
    const peopleAtAddress = new Map<string, Set<string>>();
    for (const r of rows) {
      const key = `${r[4]}|${r[5]}`;
      peopleAtAddress.set(key, (peopleAtAddress.get(key) ?? new Set()).add(r[7] as string));
    }
    expect([...peopleAtAddress.values()].filter((s) => s.size >= 3).length).toBeGreaterThan(100);
    for (const r of rows) {
      if (r[2] !== '') expect(r[2]).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      if (r[4] !== '') expect(r[4]).toMatch(/^[A-Z]{1,2}\d{1,2} \d[A-Z]{2}$/);
      if (r[6] !== '') expect(r[6]).toMatch(/^\d{10}$/);
    }
  });

  it('writes the same CSV bytes for the same seed, with the documented header', async () => {
    const dir = await scratch();
    await writeSyntheticCsv(join(dir, 'a.csv'), { records: 500, seed: 11 });
    await writeSyntheticCsv(join(dir, 'b.csv'), { records: 500, seed: 11 });
    const a = await readFile(join(dir, 'a.csv'), 'utf8');
    expect(a).toBe(await readFile(join(dir, 'b.csv'), 'utf8'));
    const lines = a.trim().split('\n');
    expect(lines[0]).toBe(SYNTHETIC_COLUMNS.join(','));
    expect(lines).toHaveLength(501);
  });
});

describe('csv', () => {
  it('trims FEBRL-style ", " separators and honours quotes', () => {
    expect(splitCsvLine('rec-1-org, mitchell, , 7')).toEqual(['rec-1-org', 'mitchell', '', '7']);
    expect(splitCsvLine('a,"b, c","say ""hi"""')).toEqual(['a', 'b, c', 'say "hi"']);
  });

  it('names the file and the missing column', async () => {
    const dir = await scratch();
    await writeFile(join(dir, 'x.csv'), 'a,b\n1,2\n');
    const read = async () => {
      for await (const _ of readCsvRows(join(dir, 'x.csv'), ['a', 'zz'])) void _;
    };
    await expect(read()).rejects.toThrow(/x\.csv: no column "zz"/);
  });
});

describe("scoring a tool's outputs", () => {
  const truthRecords: TruthRecord[] = [
    { id: recordKey('a.csv', '1'), cluster: 'P1', dataset: 'a.csv' },
    { id: recordKey('a.csv', '2'), cluster: 'P2', dataset: 'a.csv' },
    { id: recordKey('b.csv', '10'), cluster: 'P1', dataset: 'b.csv' },
    { id: recordKey('b.csv', '20'), cluster: 'P2', dataset: 'b.csv' },
  ];

  it('resolves ids without source_dataset when they are unique across inputs, and scores pairs and clusters', async () => {
    const dir = await scratch();
    await writeFile(
      join(dir, 'pairs.csv'),
      'unique_id_l,unique_id_r,match_weight,match_probability\n1,10,9.1,0.99\n2,10,1.2,0.7\n',
    );
    await writeFile(
      join(dir, 'clusters.csv'),
      'unique_id,cluster_id,source_dataset\n1,c1,a.csv\n10,c1,b.csv\n2,c2,a.csv\n20,c2,b.csv\n',
    );
    const truth = new GroundTruth(truthRecords, 'link_only');
    const scores = await scoreOutputs(truth, new KeyResolver(['/x/a.csv', '/y/b.csv'], truthRecords), dir);
    expect(scores.pairs).toMatchObject({ truePositives: 1, falsePositives: 1, falseNegatives: 1 });
    expect(scores.clusters).toMatchObject({ truePositives: 2, falsePositives: 0, falseNegatives: 0, f1: 1 });
  });

  it('refuses an id that is in both inputs when the output does not say which', () => {
    const clash: TruthRecord[] = [
      { id: recordKey('a.csv', '1'), cluster: 'P1', dataset: 'a.csv' },
      { id: recordKey('b.csv', '1'), cluster: 'P1', dataset: 'b.csv' },
    ];
    const resolver = new KeyResolver(['a.csv', 'b.csv'], clash);
    expect(() => resolver.key('1', undefined, 'pairs.csv line 2')).toThrow(
      /pairs\.csv line 2: record id "1" is in both inputs/,
    );
    expect(resolver.key('1', 'b.csv', 'x')).toBe(recordKey('b.csv', '1'));
  });
});

describe('measuring a child process', () => {
  it('reports its exit code, wall time and a peak RSS at least what it allocated', async () => {
    const dir = await scratch();
    const m = await runMeasured(
      process.execPath,
      ['-e', 'const b = Buffer.alloc(150 * 1024 * 1024, 1); setTimeout(() => process.exit(b[0] === 1 ? 3 : 0), 400);'],
      { cwd: dir, stdoutFile: join(dir, 'out'), stderrFile: join(dir, 'err'), timeoutSeconds: 60 },
    );
    expect(m.exitCode).toBe(3);
    expect(m.timedOut).toBe(false);
    expect(m.wallSeconds).toBeGreaterThanOrEqual(0.4);
    expect(m.peakRssBytes).toBeGreaterThanOrEqual(150 * 1024 * 1024);
  });
});
