/** Lambda for "Prepare run": select and hash the inputs, derive the run id, skip if done, write the manifest. */
import { z } from 'zod';
import { prepareRun, runRequestSchema } from '../pipelines/manifest.ts';
import { controlHandler } from './lib/handler.ts';

export const handler = controlHandler('prepare', runRequestSchema.and(z.looseObject({})), (deps, event) =>
  prepareRun(deps, event),
);
