/** Lambda for "Finalise run": the manifest says ok, with stage timings and counts. */
import { z } from 'zod';
import { finaliseRun } from '../pipelines/manifest.ts';
import { PIPELINE_STAGE_NAMES } from '../pipelines/stages/index.ts';
import { controlHandler } from './lib/handler.ts';

export const handler = controlHandler('finalise', z.looseObject({}), (deps, event) =>
  finaliseRun(deps, event, PIPELINE_STAGE_NAMES),
);
