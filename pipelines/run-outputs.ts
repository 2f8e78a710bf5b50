/**
 * What a finished run left behind, for "already done": `recordRunOutputs` lists every object the run's stages wrote
 * for its date (from the stage records, pipelines/stage-records.ts) and the files of its set (published, or staged
 * while it waits for sign-off), each with its SHA-256, for the run manifest's `outputs`; `verifyRunOutputs` checks
 * them again byte for byte before a re-run of the same run is skipped. Published files are checked against the
 * release marker when it lists them (a file amended through amendReleasedFiles, such as the audit report rebuilt
 * after a review import, carries its new hash there); any other change to a published file is an edit.
 */
import type { ObjectStore } from './io/object-store.ts';
import { keys, type Zone } from './layout.ts';
import type { Manifest } from './manifest-schema.ts';
import { CURRENT_MARKER, readCurrent } from './release/promote.ts';

import { PIPELINE_STAGE_NAMES } from './stages/stage.ts';
import {
  hashObject,
  phaseRankOf,
  readStageRecords,
  verifyOutputs,
  type OutputCheck,
  type RecordedOutput,
} from './stage-records.ts';

const NOT_OUTPUTS = new Set([CURRENT_MARKER, 'manifest.json']);

/**
 * `published`: the staged set is about to be released, so its files are recorded under their published keys
 * (outputs `as_at=D/<name>`); else under their staged keys (secure `as_at=D/staging/<run id>/<name>`).
 */
export async function recordRunOutputs(
  stores: Record<Zone, ObjectStore>,
  m: Pick<Manifest, 'asAt' | 'runId'>,
  published: boolean,
): Promise<RecordedOutput[]> {
  const records = await readStageRecords(stores.outputs, m.asAt, m.runId);
  const staging = keys.stagingPrefix(m.asAt, m.runId);
  const consumed = new Set(records.flatMap((r) => r.consumed.map((c) => `${c.zone}/${c.key}`)));
  const order = PIPELINE_STAGE_NAMES as readonly string[];
  const targets = new Map<string, RecordedOutput>();
  for (const r of [...records].sort(
    (a, b) =>
      order.indexOf(a.stage) - order.indexOf(b.stage) || phaseRankOf(a.result.__input) - phaseRankOf(b.result.__input),
  )) {
    for (const o of r.outputs) {
      const id = `${o.zone}/${o.key}`;
      if ((o.zone === 'secure' && o.key.startsWith(staging)) || consumed.has(id)) continue;
      targets.set(id, { zone: o.zone, key: o.key, sha256: o.sha256, bytes: o.bytes });
    }
  }
  // the hashes the stages took when they wrote them (the later stage's when two wrote one key): finalise reads no
  // clear value back from the secure zone
  const out = [...targets.values()].sort((a, b) => (`${a.zone}/${a.key}` < `${b.zone}/${b.key}` ? -1 : 1));
  for (const o of await stores.secure.list(staging)) {
    const name = o.key.slice(staging.length);
    if (NOT_OUTPUTS.has(name)) continue;
    const h = await hashObject(stores.secure, o.key);
    out.push(
      published
        ? { zone: 'outputs', key: `${keys.releasePrefix(m.asAt)}${name}`, ...h }
        : { zone: 'secure', key: o.key, ...h },
    );
  }
  return out;
}

/** The recorded outputs checked again (published files against the release marker's hashes where it has them). */
export async function verifyRunOutputs(
  stores: Record<Zone, ObjectStore>,
  m: Pick<Manifest, 'asAt' | 'runId' | 'outputs'>,
): Promise<OutputCheck> {
  const marker = await readCurrent(stores.outputs, m.asAt).catch(() => undefined);
  const released = new Map(
    (marker?.runId === m.runId && marker.state === 'live' ? marker.files : []).map((f) => [
      `${keys.releasePrefix(m.asAt)}${f.name}`,
      f.sha256,
    ]),
  );
  const staging = keys.stagingPrefix(m.asAt, m.runId);
  const expected = (m.outputs ?? []).map((o) => {
    // recorded while staged, released since (IG's sign-off): the file is now in the published folder
    const key =
      o.zone === 'secure' && o.key.startsWith(staging) && released.size > 0
        ? `${keys.releasePrefix(m.asAt)}${o.key.slice(staging.length)}`
        : o.key;
    const zone = key === o.key ? o.zone : 'outputs';
    return zone === 'outputs' && released.has(key)
      ? { ...o, zone, key, sha256: released.get(key)! }
      : { ...o, zone, key };
  });
  return verifyOutputs(stores, expected, new Set(['secure']));
}

/** `zone/key (missing)`, ... for messages, at most `n`. */
export function describeMismatch(c: Pick<OutputCheck, 'missing' | 'changed'>, n = 5): string {
  const all = [...c.missing.map((k) => `${k} (missing)`), ...c.changed.map((k) => `${k} (changed)`)];
  return `${all.slice(0, n).join(', ')}${all.length > n ? ` and ${all.length - n} more` : ''}`;
}
