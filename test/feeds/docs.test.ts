import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFeedDocs } from '../../pipelines/cli/commands/feeds.ts';
import { renderFeedDocs } from '../../pipelines/feeds/docs.ts';

const root = join(import.meta.dirname, '..', '..');

describe('generated feed docs (docs/feeds)', () => {
  it('are committed exactly as the feed contracts generate them (run `npm run locality -- feeds docs` if this fails)', async () => {
    const docs = renderFeedDocs();
    for (const [rel, content] of docs) {
      const committed = await readFile(join(root, rel), 'utf8').catch(() => `(missing ${rel})`);
      expect(committed, rel).toBe(content);
    }
    const check = await writeFeedDocs(root, true);
    expect(check.removed, 'stale files in docs/feeds').toEqual([]);
    expect(check.written).toEqual([]);
  });

  it('give each feed a JSON Schema that names every column and the row checks', () => {
    const docs = renderFeedDocs();
    const js = JSON.parse(docs.get('docs/feeds/schools/attendance.schema.json')!) as {
      properties: Record<string, unknown>;
      'x-row-checks': string[];
      additionalProperties: boolean;
    };
    expect(Object.keys(js.properties)).toEqual([
      'record_ref',
      'person_ref',
      'term',
      'term_start',
      'term_end',
      'sessions_possible',
      'sessions_attended',
    ]);
    expect(js['x-row-checks'].join('\n')).toMatch(/sessions_attended must not exceed sessions_possible/);
    expect(js.additionalProperties).toBe(false);
    const pupils = JSON.parse(docs.get('docs/feeds/schools/pupils.schema.json')!) as {
      properties: Record<string, { pattern?: string }>;
    };
    expect(pupils.properties.upn_token!.pattern).toBe('^(?:[0-9a-f]{64})?$');
  });
});
