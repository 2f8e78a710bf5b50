/**
 * Computes the match audit report's figures from loaded tables (pure: no I/O). Clear values from the
 * secure zone (dates of birth, sex, tokens) are used here only to count and to pick person ids; none is
 * copied into the result.
 */
import { histogramBins } from '../html/charts.ts';
import { ageBandAt, AGE_BANDS } from '../../../models/age-bands.ts';
import type {
  BiasGroup,
  InputFileRow,
  MatchAuditReport,
  ModelSummary,
  SensitivityRow,
  SourceLinkage,
} from './model.ts';
import { daysBetween } from '../../../models/dates.ts';

export interface PairArrays {
  count: number;
  l: Int32Array;
  r: Int32Array;
  weight: Float64Array;
  /** 1 when the pair was made by a deterministic rule. */
  deterministic: Uint8Array;
  /** Index into `keys` of the pair's match_key. */
  key: Int32Array;
  keys: string[];
}

/**
 * What the report says of the scored pairs (the curated pairs table, often tens of millions of rows): their count
 * and the weight histogram, aggregated in DuckDB (load.ts summarisePairs), never held in JS.
 */
export interface PairsSummary {
  count: number;
  weightHistogram: MatchAuditReport['linkage']['weightHistogram'];
}

export interface SecureFacts {
  dateOfBirth: string | null;
  sex: string | null;
  nhsNumberToken: string | null;
  upnToken: string | null;
}

export interface AuditData {
  asAt: string;
  runId: string;
  files: InputFileRow[];
  /** Files in landing not read for this run, and why (from the validation counts). */
  ignoredFiles: Array<{ key: string; why: string }>;
  /** Curated `records`: in a fixed order (record index = position). */
  records: Array<{ recordId: string; source: string; feed: string }>;
  /** person id per record index (curated `persons`); null when a record has no person row. */
  personOf: Array<string | null>;
  pairs: PairsSummary;
  links: PairArrays;
  threshold: { weight: number; probability: number };
  model: Record<string, unknown> | null;
  clustering: Record<string, unknown> | null;
  /** Secure facts per record index (may be missing: null). */
  secure: Array<SecureFacts | null>;
  /** Families per person id (curated family_members) and each family's locality (curated families). */
  familiesOfPerson: Map<string, string[]> | null;
  localityOfFamily: Map<string, string> | null;
  peopleFeeds: Set<string>;
  /** The match stage's secure explanations of pairs near the threshold (values are dropped here). */
  reviewSample: Array<Record<string, unknown>> | null;
  /**
   * The model's deterministic rules (columns that must all be equal) with each column's values per record
   * index, from the secure person records: to tell links a deterministic rule alone would make from links
   * only the probabilistic score makes. Rules using transforms are listed in `skipped`.
   */
  deterministic: {
    rules: Array<{ name: string; columns: string[] }>;
    values: Map<string, Array<string | null>>;
    skipped: string[];
  };
}

export const IMPLAUSIBLE_DOB_SPREAD_DAYS = 366;
export const MAX_IDS_LISTED = 50;
const HISTOGRAM_SPAN = { below: 25, above: 35 };

export function probabilityOfWeight(w: number): number {
  return 1 / (1 + 2 ** -w);
}

const byKey =
  <T>(f: (x: T) => string) =>
  (a: T, b: T) =>
    f(a) < f(b) ? -1 : f(a) > f(b) ? 1 : 0;
const sumValues = (o: Record<string, number>) => Object.values(o).reduce((s, v) => s + v, 0);

// ---------------------------------------------------------------- inputs

export function inputsSection(
  files: InputFileRow[],
  records: AuditData['records'],
  peopleFeeds: Set<string>,
  ignored: AuditData['ignoredFiles'] = [],
): MatchAuditReport['inputs'] {
  const sorted = [...files].sort(byKey((f) => f.key));
  const byReason: Record<string, number> = {};
  const problems: string[] = [];
  for (const f of sorted) {
    for (const [r, n] of Object.entries(f.quarantinedByReason)) byReason[r] = (byReason[r] ?? 0) + n;
    if (!f.reconciles)
      problems.push(
        `${f.key}: ${f.rows} rows read but ${f.accepted} accepted + ${f.quarantined} quarantined + ${f.rejectedRows} in a rejected file (reasons sum to ${sumValues(f.quarantinedByReason)})`,
      );
  }
  const totals = {
    files: sorted.length,
    rows: sorted.reduce((s, f) => s + f.rows, 0),
    accepted: sorted.reduce((s, f) => s + f.accepted, 0),
    quarantined: sorted.reduce((s, f) => s + f.quarantined, 0),
    rejectedRows: sorted.reduce((s, f) => s + f.rejectedRows, 0),
    quarantinedByReason: Object.fromEntries(Object.entries(byReason).sort(([a], [b]) => (a < b ? -1 : 1))),
    rejectedFiles: sorted.filter((f) => f.rejected).length,
  };
  if (totals.rows !== totals.accepted + totals.quarantined + totals.rejectedRows)
    problems.push(
      `totals: ${totals.rows} rows read but ${totals.accepted} accepted + ${totals.quarantined} quarantined + ${totals.rejectedRows} in rejected files`,
    );
  if (totals.quarantined !== sumValues(totals.quarantinedByReason))
    problems.push(
      `totals: ${totals.quarantined} quarantined but reasons sum to ${sumValues(totals.quarantinedByReason)}`,
    );
  // People feeds: accepted rows (latest snapshot) against records carried into the curated table.
  const accepted = new Map<string, number>();
  for (const f of sorted) {
    const id = `${f.source}/${f.feed}`;
    if (peopleFeeds.has(id)) accepted.set(id, (accepted.get(id) ?? 0) + f.accepted);
  }
  const recs = new Map<string, number>();
  for (const r of records) {
    const id = `${r.source}/${r.feed}`;
    recs.set(id, (recs.get(id) ?? 0) + 1);
  }
  const peopleIds = [...new Set([...accepted.keys(), ...recs.keys()])].sort();
  const people = peopleIds.map((id) => {
    const [source, feed] = id.split('/') as [string, string];
    return { source, feed, acceptedRows: accepted.get(id) ?? 0, records: recs.get(id) ?? 0 };
  });
  return { files: sorted, totals, reconciles: problems.length === 0, peopleFeeds: people, problems, ignored };
}

// ---------------------------------------------------------------- linkage

function groupMembers(personOf: Array<string | null>): Map<string, number[]> {
  const m = new Map<string, number[]>();
  personOf.forEach((p, i) => {
    if (p === null) return;
    const list = m.get(p);
    if (list) list.push(i);
    else m.set(p, [i]);
  });
  return m;
}

export function linkageBySource(d: AuditData, members: Map<string, number[]>): SourceLinkage[] {
  const per = new Map<string, SourceLinkage>();
  const personSources = new Map<string, Set<string>>();
  for (const [p, idx] of members) personSources.set(p, new Set(idx.map((i) => d.records[i]!.source)));
  d.records.forEach((r, i) => {
    const s = per.get(r.source) ?? {
      source: r.source,
      records: 0,
      linkedToOtherSource: 0,
      shareLinkedToOtherSource: 0,
      linkedToAnyRecord: 0,
    };
    s.records++;
    const p = d.personOf[i];
    if (p !== null && p !== undefined) {
      if ((personSources.get(p)?.size ?? 0) > 1) s.linkedToOtherSource++;
      if ((members.get(p)?.length ?? 0) > 1) s.linkedToAnyRecord++;
    }
    per.set(r.source, s);
  });
  return [...per.values()]
    .map((s) => ({ ...s, shareLinkedToOtherSource: s.records ? s.linkedToOtherSource / s.records : 0 }))
    .sort(byKey((s) => s.source));
}

/**
 * Links and persons at thresholds around the run's, as the match stage recorded them (clustering.json
 * thresholdSensitivity): each row a full re-clustering with the run's vetoes and guards, so the row at offset 0 is
 * this run (its links and persons tables). Empty when the match stage did not record them.
 */
export function thresholdSensitivity(clustering: Record<string, unknown> | null): SensitivityRow[] {
  const raw = (clustering as { thresholdSensitivity?: unknown } | null)?.thresholdSensitivity;
  if (!Array.isArray(raw)) return [];
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : Number.NaN);
  return (raw as Array<Record<string, unknown>>)
    .map((r) => ({
      offset: num(r.offset),
      weight: num(r.weight),
      probability: num(r.probability),
      links: num(r.links),
      persons: num(r.persons),
    }))
    .sort((a, b) => a.offset - b.offset);
}

/** The weight histogram's axis around the threshold: weights outside [min, max) are counted in the end bins. */
export function weightHistogramAxis(threshold: number): { min: number; max: number } {
  return { min: Math.floor(threshold - HISTOGRAM_SPAN.below), max: Math.ceil(threshold + HISTOGRAM_SPAN.above) };
}

/**
 * weightHistogram from the pairs' counts per bin (bin: the weight's floor, clamped to the axis's first and last bins,
 * as histogramBins bins it) and the counts outside the axis and without a weight: what DuckDB aggregates (load.ts).
 */
export function weightHistogramOfCounts(
  counts: ReadonlyArray<{ bin: number; count: number }>,
  outside: { clampedBelow: number; clampedAbove: number; deterministicWithoutWeight: number },
): MatchAuditReport['linkage']['weightHistogram'] {
  const byBin = new Map(counts.map((c) => [c.bin, c.count]));
  const bins: MatchAuditReport['linkage']['weightHistogram']['bins'] = [];
  if (byBin.size) {
    const lo = Math.min(...byBin.keys());
    const hi = Math.max(...byBin.keys());
    for (let b = lo; b <= hi; b++)
      bins.push({ from: Number(b.toPrecision(12)), to: Number((b + 1).toPrecision(12)), count: byBin.get(b) ?? 0 });
  }
  return { binWidth: 1, bins, ...outside };
}

/** The histogram of pairs held in JS (the reference for weightHistogramOfCounts; the report aggregates in DuckDB). */
export function weightHistogram(pairs: PairArrays, threshold: number): MatchAuditReport['linkage']['weightHistogram'] {
  const { min: lo, max: hi } = weightHistogramAxis(threshold);
  const values: number[] = [];
  let below = 0,
    above = 0,
    noWeight = 0;
  for (let p = 0; p < pairs.count; p++) {
    const w = pairs.weight[p]!;
    if (!Number.isFinite(w)) {
      noWeight++;
      continue;
    }
    if (w < lo) below++;
    else if (w >= hi) above++;
    values.push(w);
  }
  return {
    binWidth: 1,
    bins: histogramBins(values, 1, { min: lo, max: hi }),
    clampedBelow: below,
    clampedAbove: above,
    deterministicWithoutWeight: noWeight,
  };
}

export function linksByRule(links: PairArrays): MatchAuditReport['linkage']['linksByRule'] {
  const per = new Map<number, { n: number; sum: number; finite: number; det: boolean }>();
  for (let p = 0; p < links.count; p++) {
    const k = links.key[p]!;
    const e = per.get(k) ?? { n: 0, sum: 0, finite: 0, det: false };
    e.n++;
    const w = links.weight[p]!;
    if (Number.isFinite(w)) {
      e.sum += w;
      e.finite++;
    }
    if (links.deterministic[p]) e.det = true;
    per.set(k, e);
  }
  return [...per.entries()]
    .map(([k, e]) => ({
      matchKey: links.keys[k] ?? String(k),
      kind: e.det ? ('deterministic' as const) : ('probabilistic' as const),
      links: e.n,
      meanWeight: e.finite ? e.sum / e.finite : null,
    }))
    .sort((a, b) =>
      a.kind === b.kind ? b.links - a.links || (a.matchKey < b.matchKey ? -1 : 1) : a.kind === 'deterministic' ? -1 : 1,
    );
}

/** Per link: the first deterministic rule whose columns are all present and equal on both records, else null. */
export function deterministicRuleOf(d: AuditData, l: number, r: number): string | null {
  if (l < 0 || r < 0) return null;
  for (const rule of d.deterministic.rules) {
    let ok = rule.columns.length > 0;
    for (const c of rule.columns) {
      const vals = d.deterministic.values.get(c);
      const a = vals?.[l];
      if (!vals || a === null || a === undefined || a === '' || a !== vals[r]) {
        ok = false;
        break;
      }
    }
    if (ok) return rule.name;
  }
  return null;
}

export function linksByDeterministicRule(d: AuditData): MatchAuditReport['linkage']['byDeterministicRule'] {
  const per = new Map<string, number>(d.deterministic.rules.map((r) => [r.name, 0]));
  let deterministic = 0;
  for (let p = 0; p < d.links.count; p++) {
    const rule = d.links.deterministic[p]
      ? (d.links.keys[d.links.key[p]!] ?? 'deterministic')
      : deterministicRuleOf(d, d.links.l[p]!, d.links.r[p]!);
    if (rule === null) continue;
    deterministic++;
    per.set(rule, (per.get(rule) ?? 0) + 1);
  }
  return {
    rules: [...per.entries()].map(([rule, links]) => ({ rule, links })),
    deterministic,
    probabilisticOnly: d.links.count - deterministic,
    skippedRules: d.deterministic.skipped,
  };
}

export function modelSummary(model: Record<string, unknown> | null): ModelSummary | null {
  if (!model) return null;
  const m = model as {
    prior?: { probability: number; weight: number; source: string };
    comparisons?: Array<{
      name: string;
      mSource?: string;
      uSource?: string;
      termFrequency?: boolean;
      levels?: Array<{ label: string; m: number | null; mEm?: number | null; u: number | null; weight: number }>;
    }>;
    labels?: { labelledPairs: string; matches: number } | null;
    em?: {
      sessions?: Array<{
        rule: string;
        pairs: number;
        iterations?: Array<{ iteration: number; lambda: number; maxChange: number }>;
        converged: boolean;
        lambda: number;
        fixedComparisons?: string[];
      }>;
    };
    blocking?: {
      candidatePairs: number;
      totalPossiblePairs: number;
      reductionRatio: number;
      rules?: Array<{ rule: string; pairs: number; newPairs: number }>;
    };
    deterministicRules?: { rules: string[]; pairs: number; recall: number };
    u?: { sampledPairs: number; exhaustive: boolean; seed: number };
  };
  return {
    prior: m.prior ?? { probability: Number.NaN, weight: Number.NaN, source: 'unknown' },
    comparisons: (m.comparisons ?? []).map((c) => ({
      name: c.name,
      mSource: c.mSource ?? 'unknown',
      uSource: c.uSource ?? 'unknown',
      termFrequency: c.termFrequency ?? false,
      levels: (c.levels ?? []).map((l) => ({
        label: l.label,
        m: l.m,
        ...(l.mEm !== undefined ? { mEm: l.mEm } : {}),
        u: l.u,
        weight: l.weight,
      })),
    })),
    labels: m.labels ?? null,
    em: (m.em?.sessions ?? []).map((s) => {
      const its = s.iterations ?? [];
      return {
        rule: s.rule,
        pairs: s.pairs,
        iterations: its.length,
        converged: s.converged,
        finalMaxChange: its.length ? its[its.length - 1]!.maxChange : null,
        lambda: s.lambda,
        trace: its.map((i) => i.maxChange),
        fixedComparisons: s.fixedComparisons ?? [],
      };
    }),
    blocking: m.blocking
      ? {
          candidatePairs: m.blocking.candidatePairs,
          totalPossiblePairs: m.blocking.totalPossiblePairs,
          reductionRatio: m.blocking.reductionRatio,
          rules: (m.blocking.rules ?? []).map((r) => ({ rule: r.rule, pairs: r.pairs, newPairs: r.newPairs })),
        }
      : null,
    deterministicRules: m.deterministicRules ?? null,
    u: m.u ?? null,
  };
}

/** Up to two explained pairs nearest the threshold: the closest linked one and the closest not linked. No values. */
export function explanations(d: AuditData): MatchAuditReport['linkage']['explanations'] {
  if (!d.reviewSample) return [];
  const t = d.threshold.weight;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : Number.NaN);
  const all = d.reviewSample
    .map((p) => {
      const w = num(p.matchWeight);
      return {
        recordIdL: String(p.idL ?? ''),
        recordIdR: String(p.idR ?? ''),
        matchKey: String(p.matchKey ?? ''),
        priorWeight: num(p.priorWeight),
        matchWeight: w,
        matchProbability: num(p.matchProbability),
        linked: w >= t,
        comparisons: (Array.isArray(p.comparisons) ? (p.comparisons as Array<Record<string, unknown>>) : []).map(
          (c) => ({
            comparison: String(c.comparison ?? ''),
            level: String(c.level ?? ''),
            weight: num(c.weight) + (typeof c.tfAdjustment === 'number' ? c.tfAdjustment : 0),
          }),
        ),
      };
    })
    .filter((e) => Number.isFinite(e.matchWeight) && Number.isFinite(e.priorWeight));
  const nearest = (linked: boolean) =>
    all
      .filter((e) => e.linked === linked)
      .sort(
        (a, b) => Math.abs(a.matchWeight - t) - Math.abs(b.matchWeight - t) || (a.recordIdL < b.recordIdL ? -1 : 1),
      )[0];
  return [nearest(true), nearest(false)].filter((e): e is NonNullable<typeof e> => e !== undefined);
}

// ---------------------------------------------------------------- clusters

export function clustersSection(d: AuditData, members: Map<string, number[]>): MatchAuditReport['clusters'] {
  const sizes = new Map<number, number>();
  for (const idx of members.values()) sizes.set(idx.length, (sizes.get(idx.length) ?? 0) + 1);
  const sizeDistribution = [...sizes.entries()]
    .map(([size, persons]) => ({ size, persons }))
    .sort((a, b) => a.size - b.size);
  const largest = [...members.entries()]
    .sort(([pa, a], [pb, b]) => b.length - a.length || (pa < pb ? -1 : 1))
    .slice(0, 10)
    .filter(([, idx]) => idx.length > 1)
    .map(([personId, idx]) => ({
      personId,
      records: idx.length,
      sources: [...new Set(idx.map((i) => d.records[i]!.source))].sort(),
    }));
  const conflicting: string[] = [];
  const spread: string[] = [];
  for (const [p, idx] of [...members.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (idx.length < 2) continue;
    const nhs = new Set<string>();
    const upn = new Set<string>();
    let minDob: string | null = null;
    let maxDob: string | null = null;
    for (const i of idx) {
      const s = d.secure[i];
      if (!s) continue;
      if (s.nhsNumberToken) nhs.add(s.nhsNumberToken);
      if (s.upnToken) upn.add(s.upnToken);
      if (s.dateOfBirth) {
        if (minDob === null || s.dateOfBirth < minDob) minDob = s.dateOfBirth;
        if (maxDob === null || s.dateOfBirth > maxDob) maxDob = s.dateOfBirth;
      }
    }
    if (nhs.size > 1 || upn.size > 1) conflicting.push(p);
    if (minDob && maxDob && daysBetween(minDob, maxDob) > IMPLAUSIBLE_DOB_SPREAD_DAYS) spread.push(p);
  }
  let multi: MatchAuditReport['clusters']['personsInMoreThanOneFamily'] = null;
  if (d.familiesOfPerson) {
    const ids = [...d.familiesOfPerson.entries()]
      .filter(([, f]) => new Set(f).size > 1)
      .map(([p]) => p)
      .sort();
    multi = { persons: ids.length, personIds: ids.slice(0, MAX_IDS_LISTED) };
  }
  let refused: MatchAuditReport['clusters']['refusedMerges'] = null;
  if (d.clustering) {
    const c = d.clustering as {
      refused?: Array<Record<string, unknown>>;
      refusedMerges?: Array<Record<string, unknown>>;
    };
    const list = (c.refused ?? c.refusedMerges ?? []) as Array<Record<string, unknown>>;
    const byReason: Record<string, number> = {};
    const str = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? null : String(v));
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    const listed = list
      .map((r) => {
        const reason = str(r.reason) ?? 'unknown';
        byReason[reason] = (byReason[reason] ?? 0) + 1;
        return {
          recordIdL: str(r.recordIdL ?? r.record_id_l ?? r.idL) ?? '',
          recordIdR: str(r.recordIdR ?? r.record_id_r ?? r.idR) ?? '',
          reason,
          column: str(r.column),
          matchWeight: num(r.matchWeight ?? r.match_weight),
          matchProbability: num(r.matchProbability ?? r.match_probability),
        };
      })
      .sort((a, b) => (b.matchWeight ?? 0) - (a.matchWeight ?? 0) || (a.recordIdL < b.recordIdL ? -1 : 1));
    refused = {
      total: list.length,
      byReason: Object.fromEntries(Object.entries(byReason).sort(([a], [b]) => (a < b ? -1 : 1))),
      listed: listed.slice(0, MAX_IDS_LISTED),
    };
  }
  return {
    sizeDistribution,
    largest,
    conflictingTokens: { persons: conflicting.length, personIds: conflicting.slice(0, MAX_IDS_LISTED) },
    implausibleDobSpread: {
      thresholdDays: IMPLAUSIBLE_DOB_SPREAD_DAYS,
      persons: spread.length,
      personIds: spread.slice(0, MAX_IDS_LISTED),
    },
    personsInMoreThanOneFamily: multi,
    refusedMerges: refused,
  };
}

// ---------------------------------------------------------------- bias

export const BIAS_FLAG_POINTS = 0.1;
export const BIAS_FLAG_MIN_RECORDS = 20;

export function biasSection(d: AuditData, members: Map<string, number[]>): MatchAuditReport['bias'] {
  // per record, once: linked to another record, and the locality of the person's first family
  const isLinked = Uint8Array.from(d.personOf, (p) =>
    p !== null && p !== undefined && (members.get(p)?.length ?? 0) > 1 ? 1 : 0,
  );
  const localityOfPerson = new Map<string, string>();
  const localityOf = (i: number): string => {
    const p = d.personOf[i];
    if (!d.familiesOfPerson || !d.localityOfFamily || !p) return 'not in a family';
    let loc = localityOfPerson.get(p);
    if (loc === undefined) {
      const fams = [...(d.familiesOfPerson.get(p) ?? [])].sort();
      loc = (fams.length ? d.localityOfFamily.get(fams[0]!) : undefined) ?? 'not in a family';
      localityOfPerson.set(p, loc);
    }
    return loc;
  };
  const tally = (groupOf: (i: number) => string, order?: readonly string[]): BiasGroup[] => {
    const m = new Map<string, { records: number; linked: number }>();
    for (let i = 0; i < d.records.length; i++) {
      const g = groupOf(i);
      let e = m.get(g);
      if (!e) m.set(g, (e = { records: 0, linked: 0 }));
      e.records++;
      e.linked += isLinked[i]!;
    }
    const rank = (g: string) => (order ? (order.indexOf(g) < 0 ? order.length : order.indexOf(g)) : 0);
    return [...m.entries()]
      .map(([group, e]) => ({
        group,
        records: e.records,
        linked: e.linked,
        rate: e.records ? e.linked / e.records : 0,
      }))
      .sort((a, b) => rank(a.group) - rank(b.group) || (a.group < b.group ? -1 : 1));
  };
  const total = d.records.length;
  const linkedTotal = isLinked.reduce((s, x) => s + x, 0);
  const sexLabel = (s: string | null | undefined) => (s === 'M' ? 'male' : s === 'F' ? 'female' : 'not recorded');
  const byAgeBand = tally((i) => ageBandAt(d.secure[i]?.dateOfBirth ?? null, d.asAt), AGE_BANDS);
  const bySex = tally((i) => sexLabel(d.secure[i]?.sex), ['female', 'male', 'not recorded']);
  const byLocality = tally(localityOf);
  const bySource = tally((i) => d.records[i]!.source);
  const overallRate = total ? linkedTotal / total : 0;
  const flagged: MatchAuditReport['bias']['flagged'] = [];
  for (const [dimension, groups] of [
    ['age band', byAgeBand],
    ['sex', bySex],
    ['locality', byLocality],
    ['source', bySource],
  ] as const) {
    for (const g of groups)
      if (g.records >= BIAS_FLAG_MIN_RECORDS && g.rate < overallRate - BIAS_FLAG_POINTS)
        flagged.push({ dimension, group: g.group, rate: g.rate, records: g.records });
  }
  return {
    overall: { records: total, linked: linkedTotal, rate: overallRate },
    byAgeBand,
    bySex,
    byLocality,
    bySource,
    flagged,
  };
}

// ---------------------------------------------------------------- all

export function computeAudit(d: AuditData): Omit<MatchAuditReport, 'privacy' | 'manifest' | 'review'> {
  const members = groupMembers(d.personOf);
  const byDet = linksByDeterministicRule(d);
  return {
    version: 1,
    asAt: d.asAt,
    runId: d.runId,
    inputs: inputsSection(d.files, d.records, d.peopleFeeds, d.ignoredFiles),
    linkage: {
      records: d.records.length,
      persons: members.size,
      pairsScored: d.pairs.count,
      links: d.links.count,
      deterministicLinks: byDet.deterministic,
      probabilisticLinks: byDet.probabilisticOnly,
      byDeterministicRule: byDet,
      threshold: d.threshold,
      bySource: linkageBySource(d, members),
      linksByRule: linksByRule(d.links),
      weightHistogram: d.pairs.weightHistogram,
      sensitivity: thresholdSensitivity(d.clustering),
      model: modelSummary(d.model),
      explanations: explanations(d),
    },
    clusters: clustersSection(d, members),
    bias: biasSection(d, members),
  };
}
