/**
 * The operational metrics a stage's Lambda emits (Powertools metrics: CloudWatch embedded metric format, namespace
 * LocalityPipeline, dimension `stage`), from the counts the stage returns, ids and counts only:
 *   StageDuration (ms)  every stage
 *   RecordsIn, Quarantined, QuarantineRate (%)  validate, per feed (the alarm on a quarantine rate over its bound)
 *   MatchRecords, Persons, LinkedRate (%)  match: LinkedRate = share of records that joined another record's
 *                                          person = (records - persons) / records
 *   PrivacyFindings, PrivacyScanFailed (0/1)  publish: findings of the privacy scan (plus unreadable files); the
 *                                          alarm on a privacy FAIL
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, METRICS_SERVICE } from '../../pipelines/metrics.ts';
import type { StageResult } from '../../pipelines/stages/invoke.ts';

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

export interface StageMetric {
  name: string;
  unit: Unit;
  value: number;
}

const n = (c: Record<string, number>, k: string) =>
  typeof c[k] === 'number' && Number.isFinite(c[k]) ? c[k] : undefined;
const pct = (part: number, whole: number) => (whole > 0 ? (100 * part) / whole : 0);

/** The metrics of one stage result (pure: tested without Lambda). */
export function stageMetrics(stage: string, result: Pick<StageResult, 'counts' | 'timing'>): StageMetric[] {
  const c = result.counts;
  const out: StageMetric[] = [
    { name: 'StageDuration', unit: MetricUnit.Milliseconds, value: result.timing.durationMs },
  ];
  const add = (name: string, unit: Unit, value: number | undefined) => {
    if (value !== undefined) out.push({ name, unit, value });
  };
  if (stage === 'validate') {
    const rows = n(c, 'rows');
    const quarantined = n(c, 'quarantined');
    add('RecordsIn', MetricUnit.Count, rows);
    add('Quarantined', MetricUnit.Count, quarantined);
    if (rows !== undefined && quarantined !== undefined)
      add('QuarantineRate', MetricUnit.Percent, pct(quarantined, rows));
  } else if (stage === 'match') {
    const records = n(c, 'records');
    const persons = n(c, 'persons');
    add('MatchRecords', MetricUnit.Count, records);
    add('Persons', MetricUnit.Count, persons);
    if (records !== undefined && persons !== undefined)
      add('LinkedRate', MetricUnit.Percent, pct(records - persons, records));
  } else if (stage === 'publish') {
    const findings = n(c, 'audit_privacy_findings');
    const unreadable = n(c, 'audit_unreadable_files');
    if (findings !== undefined || unreadable !== undefined) {
      const total = (findings ?? 0) + (unreadable ?? 0);
      add('PrivacyFindings', MetricUnit.Count, total);
      add('PrivacyScanFailed', MetricUnit.Count, total > 0 ? 1 : 0);
    }
  }
  return out;
}

/** A Metrics instance for one stage's handler (dimension stage=<name>). */
export function metricsFor(stage: string): Metrics {
  const m = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE });
  m.setDefaultDimensions({ stage });
  return m;
}

export function recordStageMetrics(
  metrics: Metrics,
  stage: string,
  result: Pick<StageResult, 'counts' | 'timing'>,
): void {
  for (const m of stageMetrics(stage, result)) metrics.addMetric(m.name, m.unit, m.value);
}
