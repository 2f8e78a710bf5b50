/**
 * The run's headline coverage (models/rules/coverage.ts) from what validate received: a feed is received when this
 * run validated at least one accepted file of it. Read by stratify (counts, the facts it keeps) and by every report.
 */
import { parseStratifyConfig, ruleSetOf } from '../../models/config.ts';
import { headlineCoverage, type HeadlineCoverage } from '../../models/rules/coverage.ts';
import { FEEDS } from '../feeds/catalogue.ts';
import type { StageContext } from './context.ts';
import { countsKey, type FeedCounts } from './validate.ts';

/** Feeds ("source/feed") this run validated with at least one accepted file. */
export async function receivedFeeds(ctx: Pick<StageContext, 'stores' | 'asAt' | 'runId'>): Promise<Set<string>> {
  const out = new Set<string>();
  for (const def of FEEDS) {
    const key = countsKey(ctx.asAt, def.source, def.feed);
    if (!(await ctx.stores.secure.exists(key))) continue;
    const counts = JSON.parse((await ctx.stores.secure.get(key)).toString('utf8')) as FeedCounts;
    if (counts.runId === ctx.runId && counts.files.some((f) => f.status === 'accepted'))
      out.add(`${def.source}/${def.feed}`);
  }
  return out;
}

/** Coverage of the configured rule set's headlines for this run. */
export async function runHeadlineCoverage(
  ctx: Pick<StageContext, 'stores' | 'asAt' | 'runId' | 'config'>,
): Promise<HeadlineCoverage[]> {
  const cfg = parseStratifyConfig(ctx.config.stratify);
  return headlineCoverage(ruleSetOf(cfg), await receivedFeeds(ctx), cfg.sources);
}
