/** The stage metrics (Powertools, embedded metric format): what each stage's counts become, and that a handler emits them. */
import { describe, expect, it, vi } from 'vitest';
import { metricsFor, recordStageMetrics, stageMetrics } from '../../functions/lib/metrics.ts';

const timing = { startedAt: 'x', finishedAt: 'y', durationMs: 1234 };
const byName = (ms: Array<{ name: string; value: number }>) => Object.fromEntries(ms.map((m) => [m.name, m.value]));

describe('stage metrics', () => {
  it('validate: records in, quarantined and the quarantine rate in percent; every stage: its duration', () => {
    expect(byName(stageMetrics('validate', { counts: { rows: 200, accepted: 190, quarantined: 10 }, timing }))).toEqual(
      { StageDuration: 1234, RecordsIn: 200, Quarantined: 10, QuarantineRate: 5 },
    );
    expect(
      byName(stageMetrics('validate', { counts: { rows: 0, accepted: 0, quarantined: 0 }, timing })).QuarantineRate,
    ).toBe(0);
    expect(byName(stageMetrics('stratify', { counts: { families: 9 }, timing }))).toEqual({ StageDuration: 1234 });
  });

  it("match: the linked rate is the share of records that joined another record's person", () => {
    expect(byName(stageMetrics('match', { counts: { records: 1000, persons: 400 }, timing }))).toEqual({
      StageDuration: 1234,
      MatchRecords: 1000,
      Persons: 400,
      LinkedRate: 60,
    });
  });

  it('publish: privacy findings (with unreadable files) and a 0/1 failed flag for the alarm', () => {
    expect(
      byName(stageMetrics('publish', { counts: { audit_privacy_findings: 0, audit_unreadable_files: 0 }, timing })),
    ).toMatchObject({ PrivacyFindings: 0, PrivacyScanFailed: 0 });
    expect(
      byName(stageMetrics('publish', { counts: { audit_privacy_findings: 2, audit_unreadable_files: 1 }, timing })),
    ).toMatchObject({ PrivacyFindings: 3, PrivacyScanFailed: 1 });
    expect(byName(stageMetrics('publish', { counts: { audit_unreadable_files: 1 }, timing })).PrivacyScanFailed).toBe(
      1,
    );
  });

  it('flushes as CloudWatch embedded metric format with the namespace and the stage dimension, no data values', () => {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
      lines.push(...String(chunk).split('\n'));
      return true;
    });
    try {
      const m = metricsFor('validate');
      recordStageMetrics(m, 'validate', { counts: { rows: 50, accepted: 45, quarantined: 5 }, timing });
      m.publishStoredMetrics();
    } finally {
      spy.mockRestore();
    }
    const emf = lines
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return null;
        }
      })
      .find((x) => x && '_aws' in x) as Record<string, unknown> | undefined;
    expect(emf, lines.join('\n')).toBeDefined();
    expect(JSON.stringify(emf!._aws)).toContain('"Namespace":"LocalityPipeline"');
    expect(emf).toMatchObject({
      stage: 'validate',
      service: 'locality-pipeline',
      RecordsIn: 50,
      Quarantined: 5,
      QuarantineRate: 10,
      StageDuration: 1234,
    });
  });
});
