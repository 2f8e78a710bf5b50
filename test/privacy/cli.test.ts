import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { buildProgram } from '../../pipelines/cli/main.ts';
import { AS_AT, buildAuditFixture, removeAuditFixtures } from '../reports/match-audit-fixture.ts';

afterAll(removeAuditFixtures);

async function run(args: string[]): Promise<string> {
  const out: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out.push(String(s));
    return true;
  });
  try {
    await (await buildProgram()).parseAsync(['node', 'locality', ...args]);
  } finally {
    spy.mockRestore();
  }
  return out.join('');
}

afterEach(() => {
  process.exitCode = 0;
});

describe('locality privacy-scan', () => {
  it('passes a clean run, then names the file, place and kind of a planted forename, without the value, and exits 2', async () => {
    const fx = await buildAuditFixture();
    const out = join(fx.root, 'out');
    expect(await run(['privacy-scan', '--out', out])).toMatch(
      new RegExp(`^privacy scan of ${AS_AT}: PASS: \\d+ files`),
    );
    await fx.stores.outputs.put(
      `as_at=${AS_AT}/target-lists/North.csv`,
      `family_id,locality,score\nF0001,North,12\nF0004,${fx.aForename},7\n`,
    );
    const text = await run(['privacy-scan', '--out', out, '--as-at', AS_AT]);
    expect(text).toMatch(/FAIL/);
    expect(text).toContain(
      `outputs/as_at=${AS_AT}/target-lists/North.csv: forename at row 2 (line 3), column locality`,
    );
    expect(text.toUpperCase()).not.toContain(fx.aForename);
    expect(process.exitCode).toBe(2);
  });
});
