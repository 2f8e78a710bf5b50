/**
 * publish stage: the run's published outputs under outputs/as_at=D/.
 *
 * Each publisher is one step with its own counts; add a step by adding it to PUBLISH_STEPS (in output order).
 * Hooks for the other reports: the match audit report (F) goes in as a step; the run manifest (E) is written by
 * the runner after this stage returns, from the counts this stage reports.
 */
import { z } from 'zod';
import { publishMatchAudit } from '../reports/match-audit/build.ts';
import { publishStartWell } from '../reports/start-well/publish.ts';
import { publishTargetLists } from '../reports/target-lists/publish.ts';
import type { StageContext } from './context.ts';
import { defineStage } from './index.ts';

export const publishInputSchema = z.object({
  /** Run only these steps (default: all). */
  steps: z.array(z.string()).optional(),
}).loose().default({});

export interface PublishStep {
  name: string;
  run(ctx: StageContext): Promise<Record<string, number>>;
}

export const PUBLISH_STEPS: PublishStep[] = [
  { name: 'target-lists', run: publishTargetLists },
  { name: 'start-well', run: publishStartWell },
  // last: its privacy scan covers everything published before it
  { name: 'match-audit', run: publishMatchAudit },
];

export async function publishStage(ctx: StageContext, input: z.infer<typeof publishInputSchema> = {}, steps: PublishStep[] = PUBLISH_STEPS) {
  const wanted = input.steps ? new Set(input.steps) : null;
  if (wanted) for (const w of wanted) if (!steps.some((s) => s.name === w)) throw new Error(`publish: unknown step "${w}" (steps: ${steps.map((s) => s.name).join(', ')})`);
  const counts: Record<string, number> = {};
  const done: string[] = [];
  for (const step of steps) {
    if (wanted && !wanted.has(step.name)) continue;
    ctx.progress.start(`publish: ${step.name}`);
    Object.assign(counts, await step.run(ctx));
    ctx.progress.stop();
    done.push(step.name);
  }
  ctx.log.info('published', { steps: done.join(',') });
  return { counts, steps: done };
}

export const stage = defineStage('publish', publishInputSchema, (ctx, input) => publishStage(ctx, input));
