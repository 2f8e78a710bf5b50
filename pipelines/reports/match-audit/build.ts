/**
 * Builds and publishes the match audit report for a run: outputs `as_at=D/match-audit/report.json` and
 * `report.html` (same content). Called by the publish stage after the other outputs are written, so the
 * privacy scan covers them (the stage starts the scan of the curated tables when it starts); the report itself
 * is scanned in memory before it is written, and never published if it would carry a clear identifier.
 */
import type { ObjectStore } from '../../io/object-store.ts';
import { amendReleasedFiles } from '../../release/promote.ts';
import { loadIdLineage } from './lineage.ts';
import type { StageContext } from '../../stages/context.ts';
import { keys } from '../../layout.ts';
import { startPublishedScan, type PreparedScan, type PublishedScanJob } from '../../privacy/published-scan.ts';
import { describeFinding, isSingleNameKind } from '../../privacy/scan.ts';
import { computeAudit } from './compute.ts';
import { loadAuditData } from './load.ts';
import type { MatchAuditReport } from './model.ts';
import { renderAuditHtml } from './render.ts';
import { runHeadlineCoverage } from '../../stages/headline-coverage.ts';

export const MATCH_AUDIT_DIR = 'match-audit';
export const matchAuditKeys = (asAt: string) => ({
  json: keys.output(asAt, `${MATCH_AUDIT_DIR}/report.json`),
  html: keys.output(asAt, `${MATCH_AUDIT_DIR}/report.html`),
});

export interface MatchAuditResult {
  report: MatchAuditReport;
  keys: { json: string; html: string };
  counts: Record<string, number>;
}

/**
 * Start the privacy scan this report carries: everything the run publishes for the as-at date except the report
 * itself (checked in memory before it is written). The publish stage starts it when the stage starts, over the run's
 * staged set (`stagedPrefix`, secure zone); without one (a lone rebuild of a released report) over the published folder.
 */
export function startAuditPrivacyScan(
  ctx: Pick<StageContext, 'asAt' | 'stores' | 'log' | 'runtime'>,
  stagedPrefix?: string,
  /** A sharded publish's merge: the plan's index and the shards' curated results (else built and scanned here). */
  prepare?: () => Promise<PreparedScan>,
): PublishedScanJob {
  const excludeOutputsPrefix = stagedPrefix
    ? `${stagedPrefix}${MATCH_AUDIT_DIR}/`
    : keys.output(ctx.asAt, `${MATCH_AUDIT_DIR}/`);
  return startPublishedScan(
    ctx.stores,
    { asAt: ctx.asAt, excludeOutputsPrefix, ...(stagedPrefix ? { stagedPrefix } : {}) },
    ctx.log,
    { worker: ctx.runtime.workerThreads, ...(prepare ? { prepare } : {}) },
  );
}

type Ctx = Pick<StageContext, 'asAt' | 'runId' | 'stores' | 'config' | 'log' | 'runtime'> & {
  /** The privacy scan the publish stage started (else the report starts its own). */
  privacyScan?: PublishedScanJob;
  /** The run's staged set to write into (publish stage). Absent: the report is rebuilt in the published folder (review import). */
  release?: ObjectStore;
};

export async function buildMatchAuditReport(ctx: Ctx): Promise<MatchAuditResult> {
  const cfgThreshold = (ctx.config.linkage as { thresholdWeight?: unknown }).thresholdWeight;
  const threshold = typeof cfgThreshold === 'number' ? cfgThreshold : undefined;
  if (ctx.privacyScan) return buildWithScan(ctx, ctx.privacyScan, threshold);
  // The privacy scan of everything published runs beside the audit's own loading and figures (in a worker thread
  // when the zones are local directories); the report waits for it.
  const scan = startAuditPrivacyScan(ctx);
  try {
    return await buildWithScan(ctx, scan, threshold);
  } finally {
    await scan.close();
  }
}

async function buildWithScan(
  ctx: Ctx,
  scan: PublishedScanJob,
  cfgThreshold: number | undefined,
): Promise<MatchAuditResult> {
  const { asAt } = ctx;
  const out = matchAuditKeys(asAt);
  const { data, manifest, review } = await loadAuditData(ctx.stores, asAt, ctx.runId, cfgThreshold);
  const figures = computeAudit(data);
  const privacy = await scan.result();
  const headlineCoverage = await runHeadlineCoverage(ctx);
  const report: MatchAuditReport = {
    ...figures,
    headlineCoverage,
    idLineage: await loadIdLineage(ctx),
    privacy,
    manifest,
    review,
  };
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const page = renderAuditHtml(report);
  // The report must not itself leak: scan it before it is written.
  // Strong identifiers (full names, addresses, postcodes, tokens, dates of birth) stop it; a single word that
  // happens to equal someone's forename or surname (a rule name, a reason code) is only logged.
  const selfFindings = await scan.scanContent([
    { zone: 'outputs', key: out.json, content: json },
    { zone: 'outputs', key: out.html, content: page },
  ]);
  const strong = selfFindings.filter((f) => !isSingleNameKind(f.kind));
  if (strong.length > 0) {
    throw new Error(
      `match audit: the report itself would carry ${strong.length} clear identifiers (${strong.slice(0, 3).map(describeFinding).join('; ')}): not published`,
    );
  }
  for (const f of selfFindings.slice(0, 5))
    ctx.log.warn('match audit: a word in the report equals a name in the secure zone', {
      key: f.key,
      location: f.location,
      kind: f.kind,
    });
  if (ctx.release) {
    await ctx.release.put(`${MATCH_AUDIT_DIR}/report.json`, json);
    await ctx.release.put(`${MATCH_AUDIT_DIR}/report.html`, page);
  } else
    await amendReleasedFiles(ctx.stores.outputs, asAt, [
      { name: `${MATCH_AUDIT_DIR}/report.json`, body: json },
      { name: `${MATCH_AUDIT_DIR}/report.html`, body: page },
    ]);
  const counts = {
    audit_files_scanned: privacy.files.length,
    audit_privacy_findings: privacy.findingsTotal,
    audit_unreadable_files: privacy.unreadableFiles,
    audit_privacy_pass: privacy.status === 'pass' ? 1 : 0,
    audit_inputs_reconcile: report.inputs.reconciles ? 1 : 0,
    audit_conflicting_token_persons: report.clusters.conflictingTokens.persons,
    audit_dob_spread_persons: report.clusters.implausibleDobSpread.persons,
    audit_headlines_not_evidenced: headlineCoverage.filter((c) => c.status === 'not_evidenced').length,
    ...Object.fromEntries(
      Object.entries(report.idLineage?.counts ?? {}).flatMap(([e, c]) =>
        Object.entries(c).map(([k, n]) => [`audit_${e}_ids_${k}`, n]),
      ),
    ),
  };
  if (privacy.status === 'fail')
    ctx.log.error('privacy scan failed: clear identifiers in published outputs', {
      asAt,
      findings: privacy.findingsTotal,
      unreadable: privacy.unreadableFiles,
      report: out.html,
    });
  else ctx.log.info('match audit report published', { asAt, filesScanned: privacy.files.length, report: out.html });
  return { report, keys: out, counts };
}

/** The publish stage's step: builds the report and returns its counts (for the run manifest). */
export async function publishMatchAudit(ctx: Ctx): Promise<Record<string, number>> {
  return (await buildMatchAuditReport(ctx)).counts;
}
