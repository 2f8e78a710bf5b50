import { describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRunConfig } from '../../pipelines/config.ts';
import { parseFamiliesConfig } from '../../matching/families/config.ts';
import { parseStratifyConfig } from '../../models/config.ts';
import { loadLocalityLookups } from '../../pipelines/localities/lookups.ts';
import { LocalObjectStore } from '../../pipelines/io/local-object-store.ts';

describe('families and stratify settings in the run config', () => {
  it('are validated when the config is loaded, naming the file and field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'd-cfg-'));
    try {
      const f = join(dir, 'run.json');
      await writeFile(
        f,
        JSON.stringify({ families: { householdSizeCap: 0 }, stratify: { threeNeedsMinHeadlines: 'three' } }),
      );
      await expect(loadRunConfig(f)).rejects.toThrow(
        /run\.json is not a valid run config \(nothing was run\):\n[\s\S]*→ at families\.householdSizeCap[\s\S]*→ at stratify\.threeNeedsMinHeadlines/,
      );
      await writeFile(
        f,
        JSON.stringify({
          families: { householdSizeCap: 8, communalAddresses: [{ postcode: 'M1 1AA', note: 'refuge' }] },
          stratify: { tiers: [{ name: 'act', minScore: 6 }] },
        }),
      );
      const cfg = await loadRunConfig(f);
      expect(parseFamiliesConfig(cfg.families)).toMatchObject({ householdSizeCap: 8, maxUnrelatedAdultGroups: 4 });
      expect(parseStratifyConfig(cfg.stratify).tiers).toEqual([{ name: 'act', minScore: 6 }]);
      await writeFile(f, JSON.stringify({ families: { householdSizeCapp: 8 } }));
      await expect(loadRunConfig(f)).rejects.toThrow(
        /unknown key "householdSizeCapp": did you mean "householdSizeCap"\?\n\s+→ at families/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('locality lookups', () => {
  it('come from the configured path, or else from lookups/<file> in the landing zone; missing both is a clear error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'd-lk-'));
    try {
      const landing = new LocalObjectStore(dir);
      const cfg = parseStratifyConfig({
        localities: { postcodeDirectory: 'nowhere/pd-2026.csv', wardLocalities: 'nowhere/wards.json' },
      });
      await expect(loadLocalityLookups(cfg, landing)).rejects.toThrow(
        /postcode directory nowhere\/pd-2026\.csv: not found \(looked for .*nowhere\/pd-2026\.csv and .*lookups\/pd-2026\.csv\)/,
      );
      await landing.put('lookups/pd-2026.csv', 'pcd,pcd2,pcds,osward\nM1 1AA,M1  1AA,M1 1AA,W1\n');
      await landing.put(
        'lookups/wards.json',
        JSON.stringify({ localities: [{ name: 'North', wards: [{ code: 'W1', name: 'Ward one' }] }] }),
      );
      const lk = await loadLocalityLookups(cfg, landing);
      expect(lk.localities.localityOfWard(lk.postcodes.wardOf('m11aa'))).toBe('North');
      // the default: the committed fixtures/lookups files
      const dflt = await loadLocalityLookups(parseStratifyConfig({}));
      expect(dflt.localities.names).toEqual(['Central', 'North', 'South']);
      expect(dflt.postcodes.size).toBeGreaterThan(1000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
