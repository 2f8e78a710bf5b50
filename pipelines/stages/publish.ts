/**
 * publish stage: the run's outputs, staged in the secure zone (secure: as_at=D/staging/<run id>/) and released as
 * outputs/as_at=D/ by Finalise run once the privacy scan passed (pipelines/release/).
 *
 * Each publisher is one step with its own counts; add a step by adding it to PUBLISH_STEPS (in output order).
 * Hooks for the other reports: the match audit report (F) goes in as a step; the run manifest (E) is written by
 * the runner after this stage returns, from the counts this stage reports.
 */
import { z } from 'zod';
import type { PublishedScanJob } from '../privacy/published-scan.ts';
import { publishMatchAudit, startAuditPrivacyScan } from '../reports/match-audit/build.ts';
import { publishBackTest } from '../reports/back-test/publish.ts';
import { publishStartWell } from '../reports/start-well/publish.ts';
import { publishSupportingFamilies } from '../reports/supporting-families/publish.ts';
import { publishTargetLists } from '../reports/target-lists/publish.ts';
import type { ObjectStore } from '../io/object-store.ts';
import { keys } from '../layout.ts';
import { prefixedStore } from '../release/view.ts';
import type { StageContext } from './context.ts';
import { defineStage } from './stage.ts';

export const publishInputSchema = z
  .object({
    /** Run only these steps (default: all). */
    steps: z.array(z.string()).optional(),
  })
  .loose()
  .default({});

/**
 * What a publish step gets: the stage context, the run's staged set to write into (`release`: keys relative to the
 * published folder, e.g. `target-lists/index.html`) and, for a step that reports it, the privacy scan under way.
 */
export interface PublishContext extends StageContext {
  release: ObjectStore;
  privacyScan?: PublishedScanJob;
}

export interface PublishStep {
  name: string;
  /** The step reports the privacy scan of everything published: the stage starts the scan when the stage starts (see privacy/published-scan.ts). */
  reportsPrivacyScan?: true;
  run(ctx: PublishContext): Promise<Record<string, number>>;
}

export const PUBLISH_STEPS: PublishStep[] = [
  { name: 'target-lists', run: publishTargetLists },
  { name: 'start-well', run: publishStartWell },
  { name: 'back-test', run: publishBackTest },
  { name: 'supporting-families', run: publishSupportingFamilies },
  // last: its privacy scan covers everything published before it
  { name: 'match-audit', reportsPrivacyScan: true, run: publishMatchAudit },
];

/**
 * Publish writes every output into the run's staging prefix in the secure zone; nothing reaches the published folder
 * here. The privacy scan covers the staged set and the curated tables; a FAIL fails the stage (and so the run): the
 * published folder keeps its previous set and the staged set stays in the secure zone for IG. Finalise run releases
 * a passing set (pipelines/release/).
 */
export async function publishStage(
  ctx: StageContext,
  input: z.infer<typeof publishInputSchema> = {},
  steps: PublishStep[] = PUBLISH_STEPS,
) {
  const wanted = input.steps ? new Set(input.steps) : null;
  if (wanted)
    for (const w of wanted)
      if (!steps.some((s) => s.name === w))
        throw new Error(`publish: unknown step "${w}" (steps: ${steps.map((s) => s.name).join(', ')})`);
  const counts: Record<string, number> = {};
  const done: string[] = [];
  const chosen = steps.filter((s) => !wanted || wanted.has(s.name));
  const stagedPrefix = keys.stagingPrefix(ctx.asAt, ctx.runId);
  // a re-run of every step starts from an empty staging (nothing left from a run that died part way)
  if (!wanted) for (const o of await ctx.stores.secure.list(stagedPrefix)) await ctx.stores.secure.delete(o.key);
  const release = prefixedStore(ctx.stores.secure, stagedPrefix);
  // The curated tables are final: their privacy scan starts now (in a worker thread locally), beside the steps;
  // the step that reports it scans the staged set when the steps before it are done.
  const privacyScan = chosen.some((s) => s.reportsPrivacyScan) ? startAuditPrivacyScan(ctx, stagedPrefix) : undefined;
  try {
    for (const step of chosen) {
      ctx.progress.start(`publish: ${step.name}`);
      Object.assign(
        counts,
        await step.run({ ...ctx, release, ...(privacyScan && step.reportsPrivacyScan ? { privacyScan } : {}) }),
      );
      ctx.progress.stop();
      done.push(step.name);
    }
  } finally {
    await privacyScan?.close();
  }
  if (privacyScan && counts.audit_privacy_pass !== 1) {
    throw new Error(
      `privacy scan FAILED: ${counts.audit_privacy_findings ?? 0} clear identifiers found, ${counts.audit_unreadable_files ?? 0} files unreadable: nothing released (the published folder keeps its previous set); the staged outputs stay in the secure zone at ${release.location} for information governance (its match-audit report lists each finding's file, place and kind)`,
    );
  }
  ctx.log.info('published to staging', { steps: done.join(','), staged: stagedPrefix });
  return { counts, steps: done };
}

export const stage = defineStage('publish', publishInputSchema, (ctx, input) => publishStage(ctx, input));
