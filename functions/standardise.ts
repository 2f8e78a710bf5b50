/** Lambda for the standardise stage: a thin wrapper over pipelines/stages (see functions/lib/handler.ts). */
import { stageHandler } from './lib/handler.ts';

export const handler = stageHandler('standardise');
