/**
 * Headline coverage: which Supporting Families headlines this run's data can evidence. A council may lack a source
 * (no housing feed, no drug and alcohol service feed): a headline whose rules read only facts from feeds that were not
 * received is "not evidenced", which is not the same as "no family has the need", and every list and report says so.
 * Pure.
 */
import { FACT_FEEDS } from '../facts.ts';
import { HEADLINE_IDS, type HeadlineId, type Rule, type RuleSet } from './schema.ts';

export type CoverageStatus = 'evidenced' | 'partly_evidenced' | 'not_evidenced';

export interface HeadlineCoverage {
  headline: HeadlineId;
  name: string;
  status: CoverageStatus;
  /** Feeds ("source/feed") the headline's rules read that were received. */
  feedsReceived: string[];
  /** Feeds its rules read that were not received (or whose source is not configured). */
  feedsMissing: string[];
  /** Rules that can fire (at least one of their feeds received) / that cannot. */
  rulesEvidenced: string[];
  rulesNotEvidenced: string[];
}

/** The label lists and reports show: "evidenced", "partly evidenced (...)" or "not evidenced (no ... feed)". */
export function coverageLabel(c: HeadlineCoverage): string {
  if (c.status === 'evidenced') return 'evidenced';
  if (c.status === 'partly_evidenced') return `partly evidenced (not received: ${c.feedsMissing.join(', ')})`;
  return c.feedsMissing.length > 0
    ? `not evidenced (not received: ${c.feedsMissing.join(', ')})`
    : 'not evidenced (no rule)';
}

const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

export function feedsOfRule(rule: Pick<Rule, 'facts'>): string[] {
  return sorted(rule.facts.flatMap((t) => FACT_FEEDS[t]));
}

/** A feed ("source/feed") is available when this run received it and its source is configured (undefined: every source). */
export function feedAvailable(received: ReadonlySet<string>, sources?: readonly string[]): (feed: string) => boolean {
  return (feed) => received.has(feed) && (sources === undefined || sources.includes(feed.split('/')[0]!));
}

/**
 * Coverage of every headline of the rule set, in framework order. `received`: the feeds ("source/feed") with data in
 * this run; `sources`: the sources configured for the partnership (undefined: every source), so a feed of a source the
 * partnership does not use counts as not received even if it landed.
 */
export function headlineCoverage(
  ruleSet: RuleSet,
  received: ReadonlySet<string>,
  sources?: readonly string[],
): HeadlineCoverage[] {
  const has = feedAvailable(received, sources);
  return HEADLINE_IDS.map((h) => {
    const rules = ruleSet.rules.filter((r) => r.headline === h);
    const feeds = sorted(rules.flatMap(feedsOfRule));
    const rulesEvidenced = rules.filter((r) => feedsOfRule(r).some(has)).map((r) => r.id);
    const rulesNotEvidenced = rules.filter((r) => !feedsOfRule(r).some(has)).map((r) => r.id);
    const status: CoverageStatus =
      rulesEvidenced.length === 0 ? 'not_evidenced' : rulesNotEvidenced.length === 0 ? 'evidenced' : 'partly_evidenced';
    return {
      headline: h,
      name: ruleSet.headlines.find((x) => x.id === h)?.name ?? h,
      status,
      feedsReceived: feeds.filter(has),
      feedsMissing: feeds.filter((f) => !has(f)),
      rulesEvidenced,
      rulesNotEvidenced,
    };
  });
}

/** Ids of the headlines not evidenced at all. */
export function notEvidenced(coverage: readonly HeadlineCoverage[]): HeadlineId[] {
  return coverage.filter((c) => c.status === 'not_evidenced').map((c) => c.headline);
}
