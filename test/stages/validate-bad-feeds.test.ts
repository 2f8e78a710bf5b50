import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../../pipelines/io/local-object-store.ts';
import {
  discoverFeeds,
  validateStage,
  type FileCounts,
  type QuarantineEntry,
} from '../../pipelines/stages/validate.ts';
import { testTree } from './validate-support.ts';

const corpus = join(import.meta.dirname, '..', 'fixtures', 'bad-feeds');

interface Expected {
  asAt: string;
  files: Record<
    string,
    | { rejected: string }
    | { rows: number; accepted: number; blankLines: number; quarantine: Array<[number, string, string]> }
  >;
}

describe('bad-feed corpus (test/fixtures/bad-feeds)', () => {
  it('gives each bad file its exact rejection, and each bad row its exact line, field and reason', async () => {
    const expected = JSON.parse(await readFile(join(corpus, 'expected.json'), 'utf8')) as Expected;
    const t = await testTree();
    try {
      t.stores.landing = new LocalObjectStore(join(corpus, 'landing'));
      const ctx = t.ctx(expected.asAt);
      const files: FileCounts[] = [];
      for (const f of await discoverFeeds(ctx)) files.push(...(await validateStage(ctx, f)).files);
      const actual: Expected['files'] = {};
      for (const f of files) {
        if (f.status === 'rejected') {
          actual[f.key] = { rejected: f.error! };
          expect(f.sha256, f.key).toMatch(/^[0-9a-f]{64}$/);
          continue;
        }
        expect(f.rows, `${f.key} reconciles`).toBe(f.accepted + f.quarantined);
        const q: Array<[number, string, string]> = [];
        if (f.quarantineKey) {
          for (const line of (await t.stores.secure.get(f.quarantineKey)).toString('utf8').trim().split('\n')) {
            const e = JSON.parse(line) as QuarantineEntry;
            expect(e.file).toBe(f.key);
            expect(e.raw.length).toBeGreaterThan(0);
            q.push([e.line, e.field, e.reason]);
          }
        }
        actual[f.key] = { rows: f.rows, accepted: f.accepted, blankLines: f.blankLines, quarantine: q };
      }
      expect(actual).toEqual(expected.files);
      // every quarantine reason the docs list is exercised by the corpus, except the config-dependent ones
      const reasons = new Set(
        Object.values(actual).flatMap((v) => ('quarantine' in v ? v.quarantine.map((x) => x[2]) : [])),
      );
      const { QUARANTINE_REASONS } = await import('../../pipelines/feeds/fields.ts');
      expect([...QUARANTINE_REASONS].filter((r) => !reasons.has(r))).toEqual([]);
    } finally {
      await t.dispose();
    }
  });
});
