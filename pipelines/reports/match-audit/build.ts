/**
 * Builds and publishes the match audit report for a run: outputs `as_at=D/match-audit/report.json` and
 * `report.html` (same content). Called by the publish stage after the other outputs are written, so the
 * privacy scan covers them; the report itself is scanned in memory before it is written, and never
 * published if it would carry a clear identifier.
 */
import type { StageContext } from '../../stages/context.ts';
import { keys } from '../../layout.ts';
import { loadIdentifierIndex } from '../../privacy/identifiers.ts';
import { describeFinding, isSingleNameKind, scanPublished, ScanCollector } from '../../privacy/scan.ts';
import { configurationVocabulary } from '../../privacy/vocabulary.ts';
import { computeAudit } from './compute.ts';
import { loadAuditData } from './load.ts';
import type { MatchAuditReport } from './model.ts';
import { renderAuditHtml } from './render.ts';

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

type Ctx = Pick<StageContext, 'asAt' | 'runId' | 'stores' | 'config' | 'log'>;

export async function buildMatchAuditReport(ctx: Ctx): Promise<MatchAuditResult> {
  const { asAt } = ctx;
  const out = matchAuditKeys(asAt);
  const cfgThreshold = (ctx.config.linkage as { thresholdWeight?: unknown }).thresholdWeight;
  const { data, manifest, review, identifierIndex } = await loadAuditData(ctx.stores, asAt, ctx.runId, typeof cfgThreshold === 'number' ? cfgThreshold : undefined);
  // (without secure person records, loadIdentifierIndex says so)
  const ix = identifierIndex ?? (await loadIdentifierIndex(ctx.stores.secure, asAt));
  const auditPrefix = keys.output(asAt, `${MATCH_AUDIT_DIR}/`);
  // Configuration vocabulary (not from any person): exempt from single-name matching.
  const vocabulary = configurationVocabulary(data.localityOfFamily ? data.localityOfFamily.values() : []);
  const { result: privacy } = await scanPublished(ix, ctx.stores, asAt, { log: ctx.log, vocabulary, exclude: (zone, key) => zone === 'outputs' && key.startsWith(auditPrefix) });
  const report: MatchAuditReport = { ...computeAudit(data), privacy, manifest, review };
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const page = renderAuditHtml(report);
  // The report must not itself leak: scan it before it is written.
  // Strong identifiers (full names, addresses, postcodes, tokens, dates of birth) stop it; a single word that
  // happens to equal someone's forename or surname (a rule name, a reason code) is only logged.
  const self = new ScanCollector(ix, undefined, vocabulary);
  self.scanBuffer('outputs', out.json, json);
  self.scanBuffer('outputs', out.html, page);
  const selfFindings = self.result(asAt).findings;
  const strong = selfFindings.filter((f) => !isSingleNameKind(f.kind));
  if (strong.length > 0) {
    throw new Error(`match audit: the report itself would carry ${strong.length} clear identifiers (${strong.slice(0, 3).map(describeFinding).join('; ')}): not published`);
  }
  for (const f of selfFindings.slice(0, 5)) ctx.log.warn('match audit: a word in the report equals a name in the secure zone', { key: f.key, location: f.location, kind: f.kind });
  await ctx.stores.outputs.put(out.json, json);
  await ctx.stores.outputs.put(out.html, page);
  const counts = {
    audit_files_scanned: privacy.files.length,
    audit_privacy_findings: privacy.findingsTotal,
    audit_unreadable_files: privacy.unreadableFiles,
    audit_inputs_reconcile: report.inputs.reconciles ? 1 : 0,
    audit_conflicting_token_persons: report.clusters.conflictingTokens.persons,
    audit_dob_spread_persons: report.clusters.implausibleDobSpread.persons,
  };
  if (privacy.status === 'fail') ctx.log.error('privacy scan failed: clear identifiers in published outputs', { asAt, findings: privacy.findingsTotal, unreadable: privacy.unreadableFiles, report: out.html });
  else ctx.log.info('match audit report published', { asAt, filesScanned: privacy.files.length, report: out.html });
  return { report, keys: out, counts };
}

/** The publish stage's step: builds the report and returns its counts (for the run manifest). */
export async function publishMatchAudit(ctx: Ctx): Promise<Record<string, number>> {
  return (await buildMatchAuditReport(ctx)).counts;
}
