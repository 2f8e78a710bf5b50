/**
 * publish stage: the run's published outputs under outputs/as_at=D/.
 *
 * Each publisher is one step with its own counts; add a step by adding it to PUBLISH_STEPS (in output order).
 * Hooks for the other reports: the match audit report (F) goes in as a step; the run manifest (E) is written by
 * the runner after this stage returns, from the counts this stage reports.
 */
import { z } from 'zod';
import type { PublishedScanJob } from '../privacy/published-scan.ts';
import { publishMatchAudit, startAuditPrivacyScan } from '../reports/match-audit/build.ts';
import { publishStartWell } from '../reports/start-well/publish.ts';
import { publishTargetLists } from '../reports/target-lists/publish.ts';
import type { StageContext } from './context.ts';
import { defineStage } from './index.ts';

export const publishInputSchema = z.object({
  /** Run only these steps (default: all). */
  steps: z.array(z.string()).optional(),
}).loose().default({});

/** What a publish step gets: the stage context and, for a step that reports it, the privacy scan under way. */
export interface PublishContext extends StageContext {
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
  // last: its privacy scan covers everything published before it
  { name: 'match-audit', reportsPrivacyScan: true, run: publishMatchAudit },
];

export async function publishStage(ctx: StageContext, input: z.infer<typeof publishInputSchema> = {}, steps: PublishStep[] = PUBLISH_STEPS) {
  const wanted = input.steps ? new Set(input.steps) : null;
  if (wanted) for (const w of wanted) if (!steps.some((s) => s.name === w)) throw new Error(`publish: unknown step "${w}" (steps: ${steps.map((s) => s.name).join(', ')})`);
  const counts: Record<string, number> = {};
  const done: string[] = [];
  const chosen = steps.filter((s) => !wanted || wanted.has(s.name));
  // The curated tables are final: their privacy scan starts now (in a worker thread locally), beside the steps;
  // the step that reports it scans the outputs zone when the steps before it are done.
  const privacyScan = chosen.some((s) => s.reportsPrivacyScan) ? startAuditPrivacyScan(ctx) : undefined;
  try {
    for (const step of chosen) {
      ctx.progress.start(`publish: ${step.name}`);
      Object.assign(counts, await step.run({ ...ctx, ...(privacyScan && step.reportsPrivacyScan ? { privacyScan } : {}) }));
      ctx.progress.stop();
      done.push(step.name);
    }
  } finally {
    await privacyScan?.close();
  }
  ctx.log.info('published', { steps: done.join(',') });
  return { counts, steps: done };
}

export const stage = defineStage('publish', publishInputSchema, (ctx, input) => publishStage(ctx, input));
