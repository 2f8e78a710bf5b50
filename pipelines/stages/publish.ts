/**
 * publish stage: the run's outputs, staged in the secure zone (secure: as_at=D/staging/<run id>/) and released as
 * outputs/as_at=D/ by Finalise run once the privacy scan passed (pipelines/release/).
 *
 * Each publisher is one step with its own counts; add a step by adding it to PUBLISH_STEPS (in output order).
 * Hooks for the other reports: the match audit report (F) goes in as a step; the run manifest (E) is written by
 * the runner after this stage returns, from the counts this stage reports.
 *
 * Sharded (pipelines/stages/stage.ts, publish-shards.ts): the privacy scan's check of the curated tables' distinct
 * values runs in shards by value hash; the merge runs the steps, its scan given the plan's index and the shards'
 * results. Run whole (no phase), or with one shard, the stage is what it always was.
 */
import { z } from 'zod';
import type { PreparedScan, PublishedScanJob } from '../privacy/published-scan.ts';
import { publishMatchAudit, startAuditPrivacyScan } from '../reports/match-audit/build.ts';
import { publishBackTest } from '../reports/back-test/publish.ts';
import { publishStartWell } from '../reports/start-well/publish.ts';
import { publishSupportingFamilies } from '../reports/supporting-families/publish.ts';
import { publishTargetLists } from '../reports/target-lists/publish.ts';
import type { ObjectStore } from '../io/object-store.ts';
import { keys } from '../layout.ts';
import { prefixedStore } from '../release/view.ts';
import type { StageContext } from './context.ts';
import { defineShardedStage, shardPhaseInput } from './stage.ts';
import { planPublish, readPublishPlan, removePublishShardFiles, scanShard, shardedScan } from './publish-shards.ts';

export const publishInputSchema = shardPhaseInput
  .extend({
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
  /** A sharded publish's merge: the plan's index and the shards' curated results for the scan (else built here). */
  prepared?: () => Promise<PreparedScan>,
) {
  const chosen = chosenSteps(input, steps);
  const counts: Record<string, number> = {};
  const done: string[] = [];
  const stagedPrefix = keys.stagingPrefix(ctx.asAt, ctx.runId);
  // a re-run of every step starts from an empty staging (nothing left from a run that died part way)
  if (!input.steps) for (const o of await ctx.stores.secure.list(stagedPrefix)) await ctx.stores.secure.delete(o.key);
  const release = prefixedStore(ctx.stores.secure, stagedPrefix);
  // The curated tables are final: their privacy scan starts now (in a worker thread locally), beside the steps;
  // the step that reports it scans the staged set when the steps before it are done.
  const privacyScan = chosen.some((s) => s.reportsPrivacyScan)
    ? startAuditPrivacyScan(ctx, stagedPrefix, prepared)
    : undefined;
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

/** The steps the input chooses (all by default), in output order; an unknown step name is refused. */
function chosenSteps(input: z.infer<typeof publishInputSchema>, steps: PublishStep[]): PublishStep[] {
  const wanted = input.steps ? new Set(input.steps) : null;
  if (wanted)
    for (const w of wanted)
      if (!steps.some((s) => s.name === w))
        throw new Error(`publish: unknown step "${w}" (steps: ${steps.map((s) => s.name).join(', ')})`);
  return steps.filter((s) => !wanted || wanted.has(s.name));
}

/** Phase merge: the stage's steps, its privacy scan from the plan's index and the shards' results (one shard: as whole). */
async function mergePublish(ctx: StageContext, input: z.infer<typeof publishInputSchema>, steps: PublishStep[]) {
  const plan = await readPublishPlan(ctx);
  if (plan.shards === 1) {
    const out = await publishStage(ctx, input, steps);
    await removePublishShardFiles(ctx);
    return out;
  }
  // every shard's file is read and checked before anything is staged
  const prepared = await shardedScan(ctx, plan);
  const out = await publishStage(ctx, input, steps, prepared);
  await removePublishShardFiles(ctx);
  return out;
}

/** The publish stage with these steps (tests add a step), sharded: plan -> shards -> merge. */
export function definePublishStage(steps: PublishStep[] = PUBLISH_STEPS) {
  return defineShardedStage('publish', publishInputSchema, {
    plan: (ctx, input) =>
      planPublish(
        ctx,
        chosenSteps(input, steps).some((s) => s.reportsPrivacyScan),
      ),
    shard: (ctx, _input, shard) => scanShard(ctx, shard),
    merge: (ctx, input) => mergePublish(ctx, input, steps),
    whole: (ctx, input) => publishStage(ctx, input, steps),
  });
}

export const stage = definePublishStage();
