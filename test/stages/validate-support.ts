/** Test support for the validate/standardise stage tests: a temp landing + out tree and a StageContext over it. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runConfigSchema, type RunConfig } from '../../pipelines/config.ts';
import { LocalObjectStore } from '../../pipelines/io/local-object-store.ts';
import type { Zone } from '../../pipelines/layout.ts';
import { silentLog } from '../../pipelines/log.ts';
import { noProgress } from '../../pipelines/progress.ts';
import { localRuntime } from '../../pipelines/runtime.ts';
import type { StageContext } from '../../pipelines/stages/context.ts';

export interface TestTree {
  root: string;
  landing: string;
  out: string;
  stores: Record<Zone, LocalObjectStore>;
  ctx(asAt: string, config?: Partial<RunConfig>): StageContext;
  put(key: string, body: string | Buffer): Promise<void>;
  dispose(): Promise<void>;
}

export async function testTree(): Promise<TestTree> {
  const root = await mkdtemp(join(tmpdir(), 'locality-stage-test-'));
  const landing = join(root, 'landing');
  const out = join(root, 'out');
  const stores: Record<Zone, LocalObjectStore> = {
    landing: new LocalObjectStore(landing),
    secure: new LocalObjectStore(join(out, 'secure')),
    curated: new LocalObjectStore(join(out, 'curated')),
    outputs: new LocalObjectStore(join(out, 'outputs')),
  };
  return {
    root,
    landing,
    out,
    stores,
    ctx: (asAt, config) => ({
      runId: `test-${asAt}`,
      asAt,
      stores,
      config: runConfigSchema.parse(config ?? {}),
      log: silentLog,
      progress: noProgress,
      runtime: localRuntime(),
    }),
    put: async (key, body) => {
      const p = join(landing, ...key.split('/'));
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, body);
    },
    dispose: () => rm(root, { recursive: true, force: true }),
  };
}

export const TOKEN_A = 'a'.repeat(64);
export const TOKEN_B = '0123456789abcdef'.repeat(4);

/** Every clear quasi-identifier value of the secure person records (names, postcodes, address lines, tokens). */
export function clearValuesOf(
  people: ReadonlyArray<{
    forename: string | null;
    surname: string | null;
    postcode: string | null;
    addressLine1: string | null;
    nhsNumberToken: string | null;
    upnToken: string | null;
    surnameParts: string[];
  }>,
): Set<string> {
  const clear = new Set<string>();
  for (const p of people) {
    for (const v of [
      p.forename,
      p.surname,
      p.postcode,
      p.postcode?.replace(' ', ''),
      p.addressLine1,
      p.nhsNumberToken,
      p.upnToken,
      ...p.surnameParts,
    ])
      if (v) clear.add(v.toUpperCase());
  }
  return clear;
}
