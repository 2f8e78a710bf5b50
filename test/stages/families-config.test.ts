import { describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRunConfig } from '../../pipelines/config.ts';
import { parseFamiliesConfig } from '../../matching/families/config.ts';
import { parseStratifyConfig } from '../../models/config.ts';

describe('families and stratify settings in the run config', () => {
  it('are validated when the config is loaded, naming the file and field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'd-cfg-'));
    try {
      const f = join(dir, 'run.json');
      await writeFile(f, JSON.stringify({ families: { householdSizeCap: 0 }, stratify: { threeNeedsMinHeadlines: 'three' } }));
      await expect(loadRunConfig(f)).rejects.toThrow(/run\.json: families\.householdSizeCap: .*stratify\.threeNeedsMinHeadlines/);
      await writeFile(f, JSON.stringify({ families: { householdSizeCap: 8, communalAddresses: [{ postcode: 'M1 1AA', note: 'refuge' }] }, stratify: { tiers: [{ name: 'act', minScore: 6 }] } }));
      const cfg = await loadRunConfig(f);
      expect(parseFamiliesConfig(cfg.families)).toMatchObject({ householdSizeCap: 8, maxUnrelatedAdultGroups: 4 });
      expect(parseStratifyConfig(cfg.stratify).tiers).toEqual([{ name: 'act', minScore: 6 }]);
      await writeFile(f, JSON.stringify({ families: { householdSizeCapp: 8 } }));
      await expect(loadRunConfig(f)).rejects.toThrow(/families: Unrecognized key: "householdSizeCapp"/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
