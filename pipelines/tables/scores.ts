/** Curated `scores`: each family's score, tier, headlines and reasons. Written by stratify; read by the target lists. */
import type { FamilyScore, FiredRule } from '../../models/rules/engine.ts';
import type { ObjectStore } from '../io/object-store.ts';
import { readParquet, type ParquetRow } from '../io/parquet.ts';
import { keys } from '../layout.ts';
import { list, need, str } from './read.ts';
import { col, type TableDef } from './table.ts';

export const SCORES: TableDef = {
  name: 'scores',
  zone: 'curated',
  what: 'scores',
  row: 'one family scored by the rule set',
  columns: [
    col('family_id', 'VARCHAR', 'the family'),
    col('as_at', 'DATE', 'the as-at date (the partition key in Glue)'),
    col('score', 'DOUBLE', 'the sum of the weights of the rules fired'),
    col('tier', 'VARCHAR', 'the tier the score falls in, or null'),
    col('headlines', 'VARCHAR[]', 'the headline needs evidenced'),
    col('headline_count', 'INTEGER', 'how many'),
    col('three_needs', 'BOOLEAN', 'at least the configured number of headlines'),
    col('open_to_statutory', 'BOOLEAN', 'open to statutory social care on the as-at date'),
    col('rules_fired', 'VARCHAR[]', 'the ids of the rules fired'),
    col('reasons', 'VARCHAR', 'JSON list of the rules fired with their evidence (fact ids, dates)'),
    col('statutory_evidence', 'VARCHAR', 'JSON list of the open statutory episodes'),
    col('rule_set_version', 'VARCHAR', '`<rule set id>@<version>`'),
  ],
};

export function scoreRow(s: FamilyScore, asAt: string): ParquetRow {
  return {
    family_id: s.familyId,
    as_at: asAt,
    score: s.score,
    tier: s.tier,
    headlines: s.headlines,
    headline_count: s.headlines.length,
    three_needs: s.threeNeeds,
    open_to_statutory: s.openToStatutory,
    rules_fired: s.reasons.map((r) => r.ruleId),
    reasons: JSON.stringify(s.reasons),
    statutory_evidence: JSON.stringify(s.statutoryEvidence),
    rule_set_version: s.ruleSetVersion,
  };
}

/** A scores row as the target lists read it. */
export interface ScoreRow {
  familyId: string;
  score: number;
  tier: string | null;
  headlines: string[];
  threeNeeds: boolean;
  openToStatutory: boolean;
  reasons: FiredRule[];
  statutoryEvidence: FamilyScore['statutoryEvidence'];
  ruleSetVersion: string;
}

export function scoreFromRow(r: ParquetRow): ScoreRow {
  return {
    familyId: need(r, 'scores', 'family_id'),
    score: Number(r.score ?? 0),
    tier: str(r, 'tier'),
    headlines: list(r, 'headlines'),
    threeNeeds: r.three_needs === true,
    openToStatutory: r.open_to_statutory === true,
    reasons: JSON.parse(str(r, 'reasons') ?? '[]') as FiredRule[],
    statutoryEvidence: JSON.parse(str(r, 'statutory_evidence') ?? '[]') as FamilyScore['statutoryEvidence'],
    ruleSetVersion: str(r, 'rule_set_version') ?? '',
  };
}

export async function readScores(curated: ObjectStore, asAt: string): Promise<ScoreRow[]> {
  return (await readParquet(curated, keys.curated('scores', asAt))).map(scoreFromRow);
}
