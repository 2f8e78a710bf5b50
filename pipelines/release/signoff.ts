/**
 * IG sign-off of a run's staged set (`locality signoff`): who, when, the decision and a note, recorded in the run
 * manifest, the staged audit report (JSON and HTML) and, when approved, the release marker; approve releases the
 * set (the target lists then say "released"), reject records it and leaves the set staged in the secure zone.
 * The note is free text written by IG: it is checked for clear identifiers first (it is published with the audit).
 */
import type { ObjectStore } from '../io/object-store.ts';
import { keys } from '../layout.ts';
import { readLatestRunManifest, readRunManifest, writeManifest, type Manifest } from '../manifest.ts';
import { isSingleNameKind, checkUnit } from '../privacy/scan.ts';
import { KIND_LABELS, loadIdentifierIndex } from '../privacy/identifiers.ts';
import { escapeHtml } from '../reports/html/safe.ts';
import { renderAuditHtml } from '../reports/match-audit/render.ts';
import type { MatchAuditReport } from '../reports/match-audit/model.ts';
import { RELEASE_STATUS_AWAITING } from '../reports/target-lists/html.ts';
import { recoverRelease, type Signoff } from './promote.ts';
import { rejectRun, releaseRun } from './run.ts';

export interface SignoffRequest {
  asAt: string;
  decision: 'approve' | 'reject';
  by: string;
  note: string;
  /** Default: the run last prepared for the date. */
  runId?: string;
  now?: () => Date;
}

export interface SignoffStores {
  secure: ObjectStore;
  outputs: ObjectStore;
}

/** The run to decide on: it must have finished and be waiting for sign-off (or have been rejected: IG may change its mind). */
async function runToDecide(stores: SignoffStores, req: SignoffRequest): Promise<Manifest> {
  const m = req.runId
    ? await readRunManifest(stores.outputs, req.asAt, req.runId)
    : await readLatestRunManifest(stores.outputs, req.asAt);
  if (!m)
    throw new Error(
      `signoff: no run${req.runId ? ` ${req.runId}` : ''} for as-at ${req.asAt} in ${stores.outputs.location}`,
    );
  const state = m.release?.state;
  if (m.status !== 'ok' || (state !== 'awaiting-signoff' && state !== 'rejected')) {
    throw new Error(
      `signoff: run ${m.runId} (as-at ${req.asAt}) is ${m.status}${state ? `, ${state}` : ''}: only a finished run awaiting sign-off can be approved or rejected (set publish.requireSignoff to hold runs for it)`,
    );
  }
  return m;
}

/** Refuses a note that carries a clear identifier of the secure zone (it names the kind, never the value). */
async function checkNote(secure: ObjectStore, asAt: string, note: string): Promise<void> {
  if (!note.trim()) return;
  const ix = await loadIdentifierIndex(secure, asAt);
  const strong = checkUnit(ix, { location: 'note', text: note, position: 'data' }).filter(
    (h) => !isSingleNameKind(h.kind),
  );
  if (strong.length)
    throw new Error(
      `signoff: the note carries a clear identifier (${strong.map((h) => KIND_LABELS[h.kind]).join(', ')}): it is published with the audit report; write it without one`,
    );
}

/** The staged audit report and target-list index, with the sign-off written into them. */
async function recordInStagedSet(secure: ObjectStore, m: Manifest, signoff: Signoff): Promise<void> {
  const jsonKey = keys.staged(m.asAt, m.runId, 'match-audit/report.json');
  if (await secure.exists(jsonKey)) {
    const report = { ...(JSON.parse((await secure.get(jsonKey)).toString('utf8')) as MatchAuditReport), signoff };
    await secure.put(jsonKey, `${JSON.stringify(report, null, 2)}\n`);
    await secure.put(keys.staged(m.asAt, m.runId, 'match-audit/report.html'), renderAuditHtml(report));
  }
  const indexKey = keys.staged(m.asAt, m.runId, 'target-lists/index.html');
  if (signoff.decision === 'approve' && (await secure.exists(indexKey))) {
    const page = (await secure.get(indexKey)).toString('utf8');
    await secure.put(
      indexKey,
      page.replace(
        escapeHtml(RELEASE_STATUS_AWAITING),
        escapeHtml(`released: approved by ${signoff.by} on ${signoff.at.slice(0, 10)}`),
      ),
    );
  }
}

export async function signOff(stores: SignoffStores, req: SignoffRequest): Promise<Manifest> {
  if (!req.by.trim()) throw new Error('signoff: --by must name who decides');
  await recoverRelease(stores, req.asAt);
  const m = await runToDecide(stores, req);
  await checkNote(stores.secure, req.asAt, req.note);
  const signoff: Signoff = {
    decision: req.decision,
    by: req.by.trim(),
    at: (req.now?.() ?? new Date()).toISOString(),
    note: req.note,
  };
  await recordInStagedSet(stores.secure, m, signoff);
  const deps = { stores, writeManifest };
  return req.decision === 'approve' ? releaseRun(deps, m, signoff) : rejectRun(deps, m, signoff);
}
