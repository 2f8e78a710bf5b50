/** Lambda for "Plan backfill": { from, to, every, force } -> the as-at dates the Distributed Map runs. */
import { backfillRequestSchema, planBackfill } from '../pipelines/backfill/periods.ts';
import { controlHandler } from './lib/handler.ts';

export const handler = controlHandler('backfill-plan', backfillRequestSchema, async (_deps, req) => planBackfill(req));
