/** Every feed contract (zod row schema + checks), keyed by source/feed, in catalogue order. */
import { FEEDS } from './catalogue.ts';
import type { FeedContract } from './contract.ts';
import { HEALTH_FEEDS } from './health.ts';
import { POLICE_FEEDS } from './police.ts';
import { SCHOOLS_FEEDS } from './schools.ts';
import { SOCIAL_CARE_FEEDS } from './social-care.ts';
import { DRUG_ALCOHOL_FEEDS } from './drug-alcohol.ts';
import { HOUSING_FEEDS } from './housing.ts';
import { REVENUES_BENEFITS_FEEDS } from './revenues-benefits.ts';
import { YOUTH_JUSTICE_FEEDS } from './youth-justice.ts';

const ALL = [
  ...SCHOOLS_FEEDS,
  ...HEALTH_FEEDS,
  ...POLICE_FEEDS,
  ...SOCIAL_CARE_FEEDS,
  ...HOUSING_FEEDS,
  ...REVENUES_BENEFITS_FEEDS,
  ...DRUG_ALCOHOL_FEEDS,
  ...YOUTH_JUSTICE_FEEDS,
];
const byKey = new Map(ALL.map((c) => [`${c.source}/${c.feed}`, c]));

/** Contracts in catalogue order. */
export const FEED_CONTRACTS: readonly FeedContract[] = FEEDS.map((f) => {
  const c = byKey.get(`${f.source}/${f.feed}`);
  if (!c) throw new Error(`feed ${f.source}/${f.feed} is in the catalogue but has no contract`);
  return c;
});

export function contractFor(source: string, feed: string): FeedContract | undefined {
  return byKey.get(`${source}/${feed}`);
}

export type { FeedContract, Row } from './contract.ts';
