/**
 * The match audit report's content: one JSON document (report.json) that the HTML page (report.html)
 * renders. Counts, rates, pseudonymous ids and model parameters only: never a value from the secure zone.
 */
import type { IdLineageSummary } from './lineage.ts';
import type { HistogramBin } from '../html/charts.ts';
import type { HeadlineCoverage } from '../../../models/rules/coverage.ts';
import type { ScanResult } from '../../privacy/scan.ts';
import type { ReviewEstimate } from '../../review/estimate.ts';

export interface InputFileRow {
  key: string;
  source: string;
  feed: string;
  extractDate: string | null;
  sha256: string;
  rows: number;
  accepted: number;
  quarantined: number;
  /** Rows of a file rejected whole (its lines after the header): counted, never carried forward. */
  rejectedRows: number;
  quarantinedByReason: Record<string, number>;
  /** The whole file was rejected (e.g. unreadable, missing column): why. */
  rejected: string | null;
  /** rows read = accepted + quarantined + rejectedRows, and quarantined = sum of reasons. */
  reconciles: boolean;
}

export interface SourceLinkage {
  source: string;
  records: number;
  /** Records whose person has at least one record from another source. */
  linkedToOtherSource: number;
  shareLinkedToOtherSource: number;
  /** Records whose person has at least one other record (any source). */
  linkedToAnyRecord: number;
}

export interface SensitivityRow {
  offset: number;
  weight: number;
  probability: number;
  /** Links accepted at this threshold: pairs at or above it, not vetoed, accepted by the clustering guards. */
  links: number;
  /** Persons (clusters) at this threshold. Offset 0 is this run: the links and persons tables. */
  persons: number;
}

export interface BiasGroup {
  group: string;
  records: number;
  linked: number;
  rate: number;
}

export interface MatchAuditReport {
  version: 1;
  asAt: string;
  runId: string;
  /** Which Supporting Families headlines the feeds this run received (of the configured sources) evidence. */
  headlineCoverage?: HeadlineCoverage[];
  inputs: {
    files: InputFileRow[];
    totals: {
      files: number;
      rows: number;
      accepted: number;
      quarantined: number;
      rejectedRows: number;
      quarantinedByReason: Record<string, number>;
      rejectedFiles: number;
    };
    reconciles: boolean;
    /** People feeds: accepted rows against records in the curated `records` table, per feed. */
    peopleFeeds: Array<{ source: string; feed: string; acceptedRows: number; records: number }>;
    problems: string[];
    /** Files in landing not read for this run: extracts after the as-at date, snapshots superseded by a later one. */
    ignored: Array<{ key: string; why: string }>;
  };
  linkage: {
    records: number;
    persons: number;
    pairsScored: number;
    links: number;
    /** Links whose records agree on every column of a deterministic rule (or made by one): a rule alone would link them. */
    deterministicLinks: number;
    /** Links only the probabilistic score makes. */
    probabilisticLinks: number;
    byDeterministicRule: {
      rules: Array<{ rule: string; links: number }>;
      deterministic: number;
      probabilisticOnly: number;
      skippedRules: string[];
    };
    threshold: { weight: number; probability: number };
    bySource: SourceLinkage[];
    linksByRule: Array<{
      matchKey: string;
      kind: 'deterministic' | 'probabilistic';
      links: number;
      meanWeight: number | null;
    }>;
    weightHistogram: {
      binWidth: number;
      bins: HistogramBin[];
      clampedBelow: number;
      clampedAbove: number;
      deterministicWithoutWeight: number;
    };
    sensitivity: SensitivityRow[];
    model: ModelSummary | null;
    /** Pairs nearest the threshold (one linked, one not), explained: prior plus each comparison's level and weight. No values. */
    explanations: LinkExplanation[];
  };
  clusters: {
    sizeDistribution: Array<{ size: number; persons: number }>;
    largest: Array<{ personId: string; records: number; sources: string[] }>;
    conflictingTokens: { persons: number; personIds: string[] };
    implausibleDobSpread: { thresholdDays: number; persons: number; personIds: string[] };
    personsInMoreThanOneFamily: { persons: number; personIds: string[] } | null;
    refusedMerges: {
      total: number;
      byReason: Record<string, number>;
      listed: Array<{
        recordIdL: string;
        recordIdR: string;
        reason: string;
        column: string | null;
        matchWeight: number | null;
        matchProbability: number | null;
      }>;
    } | null;
  };
  bias: {
    overall: { records: number; linked: number; rate: number };
    byAgeBand: BiasGroup[];
    bySex: BiasGroup[];
    byLocality: BiasGroup[];
    bySource: BiasGroup[];
    /** Groups whose link rate is more than 10 percentage points below the overall rate (with at least 20 records). */
    flagged: Array<{ dimension: string; group: string; rate: number; records: number }>;
  };
  privacy: Omit<ScanResult, 'findings'> & { findings: ScanResult['findings'] };
  manifest: Record<string, unknown> | null;
  review: ReviewEstimate | null;
  /** Information governance's sign-off, once given (locality signoff). */
  signoff?: { decision: 'approve' | 'reject'; by: string; at: string; note: string };
  /** Person and family ids since the last run (id_lineage); absent in reports built before ids carried over. */
  idLineage?: IdLineageSummary;
}

export interface ModelSummary {
  prior: { probability: number; weight: number; source: string };
  comparisons: Array<{
    name: string;
    mSource: string;
    uSource: string;
    termFrequency: boolean;
    levels: Array<{ label: string; m: number | null; mEm?: number | null; u: number | null; weight: number }>;
  }>;
  /** m from clerical labels: the labels file and its matches in the input (null: m from EM). */
  labels?: { labelledPairs: string; matches: number } | null;
  em: Array<{
    rule: string;
    pairs: number;
    iterations: number;
    converged: boolean;
    finalMaxChange: number | null;
    lambda: number;
    trace: number[];
    fixedComparisons: string[];
  }>;
  blocking: {
    candidatePairs: number;
    totalPossiblePairs: number;
    reductionRatio: number;
    rules: Array<{ rule: string; pairs: number; newPairs: number }>;
  } | null;
  deterministicRules: { rules: string[]; pairs: number; recall: number } | null;
  u: { sampledPairs: number; exhaustive: boolean; seed: number } | null;
}

export interface LinkExplanation {
  recordIdL: string;
  recordIdR: string;
  matchKey: string;
  priorWeight: number;
  matchWeight: number;
  matchProbability: number;
  linked: boolean;
  /** Each comparison's level and contribution (log2 m/u, term-frequency adjusted on exact matches). */
  comparisons: Array<{ comparison: string; level: string; weight: number }>;
}
