/**
 * What a stage is: a name, the zod schema of its input and the function that runs it. Stage files import this (not
 * the registry, stages/index.ts, which imports every stage file: importing it back made an import cycle).
 */
import type { z } from 'zod';
import type { StageContext } from './context.ts';

/** What every stage returns: small JSON whose `counts` the run manifest records. */
export interface StageOutput {
  counts: Record<string, number>;
  [more: string]: unknown;
}

export interface StageEntry<I = unknown> {
  name: string;
  /** Validates the stage's input (the `input` field of the Task's event). */
  input: z.ZodType<I>;
  run(ctx: StageContext, input: I): Promise<StageOutput>;
}

export function defineStage<S extends z.ZodType>(
  name: string,
  input: S,
  run: (ctx: StageContext, input: z.infer<S>) => Promise<StageOutput>,
): StageEntry<z.infer<S>> {
  return { name, input: input as unknown as z.ZodType<z.infer<S>>, run };
}

/** The stages of one run, in order (validate is a Map over feeds). */
export const PIPELINE_STAGE_NAMES = ['validate', 'standardise', 'match', 'families', 'stratify', 'publish'] as const;
