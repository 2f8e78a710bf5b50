/** Lambda for "Record failure": the manifest says failed, naming the stage and its error. */
import { z } from 'zod';
import { recordRunFailure } from '../pipelines/manifest.ts';
import { PIPELINE_STAGE_NAMES } from '../pipelines/stages/index.ts';
import { controlHandler } from './lib/handler.ts';

export const handler = controlHandler('record-failure', z.looseObject({}), (deps, event) =>
  recordRunFailure(deps, event, PIPELINE_STAGE_NAMES),
);
