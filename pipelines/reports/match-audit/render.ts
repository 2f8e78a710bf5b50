/**
 * The match audit report as one self-contained HTML page, for information governance officers: every
 * figure in report.json, laid out as "what came in / how it linked / where it may be wrong / is it safe".
 */
import {
  barChart,
  factList,
  formatDate,
  formatDecimal,
  formatInt,
  formatPercent,
  formatProbability,
  formatSigned,
  histogram,
  html,
  keyFigures,
  lineChart,
  notice,
  para,
  waterfallChart,
  renderPage,
  stackedBarChart,
  subheading,
  table,
  type HtmlValue,
  type SafeHtml,
} from '../html/index.ts';
import { KIND_LABELS } from '../../privacy/identifiers.ts';
import { coverageSection, notEvidencedNotice } from '../html/coverage.ts';
import { lineageBody } from './lineage.ts';
import type { BiasGroup, MatchAuditReport } from './model.ts';
import { BIAS_FLAG_MIN_RECORDS, BIAS_FLAG_POINTS, IMPLAUSIBLE_DOB_SPREAD_DAYS } from './compute.ts';

const KIND_PLURALS: Record<keyof typeof KIND_LABELS, string> = {
  forename: 'forenames',
  surname: 'surnames',
  full_name: 'full names',
  date_of_birth: 'dates of birth',
  postcode: 'full postcodes',
  address: 'address lines',
  nhs_number_token: 'NHS number tokens',
  upn_token: 'UPN tokens',
  surname_and_dob: 'surnames with their dates of birth',
  name_pair: 'forename and surname pairs',
};
const AGE_LABELS: Record<string, string> = { '0': 'under 1', '1': '1', unknown: 'not known' };
const groupLabel = (dimension: string, group: string) =>
  dimension === 'age band' ? `aged ${AGE_LABELS[group] ?? group}` : `${dimension} ${group}`;
const code = (s: string) => html`<code>${s}</code>`;
const idList = (ids: string[], total: number) =>
  ids.length === 0
    ? html`<span class="muted">none</span>`
    : html`${ids.map((id, i) => html`${i ? ', ' : ''}<code>${id}</code>`)}${total > ids.length ? html` <span class="muted">… and ${formatInt(total - ids.length)} more (all in report.json up to 50)</span>` : ''}`;

function status(ok: boolean, good: string, bad: string): SafeHtml {
  return ok ? html`<span class="ok">${good}</span>` : html`<span class="bad">${bad}</span>`;
}

function checklist(r: MatchAuditReport): SafeHtml {
  const items: Array<[boolean | null, string, HtmlValue]> = [
    [
      r.privacy.status === 'pass',
      'Privacy scan',
      r.privacy.status === 'pass'
        ? `no clear identifier found in ${formatInt(r.privacy.files.length)} published files`
        : `${formatInt(r.privacy.findingsTotal)} clear identifiers found, ${formatInt(r.privacy.unreadableFiles)} files unreadable: see Privacy`,
    ],
    [
      r.inputs.reconciles && r.inputs.totals.rejectedFiles === 0,
      'Input counts reconcile',
      !r.inputs.reconciles
        ? `FAIL: ${r.inputs.problems.length} discrepancies: see Inputs`
        : r.inputs.totals.rejectedFiles
          ? `rows read = accepted + quarantined + rows of rejected files, but ${formatInt(r.inputs.totals.rejectedFiles)} files (${formatInt(r.inputs.totals.rejectedRows)} rows) were rejected whole: see Inputs`
          : `every row of ${formatInt(r.inputs.totals.files)} files accepted or quarantined with a reason`,
    ],
    [
      r.clusters.conflictingTokens.persons === 0,
      'Persons holding conflicting NHS number / UPN tokens',
      formatInt(r.clusters.conflictingTokens.persons),
    ],
    [
      r.clusters.implausibleDobSpread.persons === 0,
      `Persons whose dates of birth span more than ${IMPLAUSIBLE_DOB_SPREAD_DAYS} days`,
      formatInt(r.clusters.implausibleDobSpread.persons),
    ],
    [
      r.bias.flagged.length === 0,
      'Groups linked markedly less often than average',
      r.bias.flagged.length === 0
        ? 'none'
        : r.bias.flagged.map((f) => `${groupLabel(f.dimension, f.group)} (${formatPercent(f.rate)})`).join('; '),
    ],
    [
      r.review ? (r.review.precision?.lower ?? 0) >= 0.9 : null,
      'Clerical review',
      r.review?.precision
        ? `precision ${formatPercent(r.review.precision.estimate)} (95% CI ${formatPercent(r.review.precision.lower)} to ${formatPercent(r.review.precision.upper)}) from ${formatInt(r.review.decisions.total)} decisions (looked at when the lower bound is under 90%)`
        : 'not done for this run (see Clerical review)',
    ],
  ];
  return table({
    caption: 'What to check before signing off',
    columns: [
      { label: 'Check', cell: (x: (typeof items)[number]) => x[1] },
      {
        label: 'Result',
        cell: (x: (typeof items)[number]) =>
          x[0] === null ? html`<span class="muted">not available</span>` : status(x[0], 'OK', 'Look at this'),
      },
      { label: 'Detail', cell: (x: (typeof items)[number]) => x[2] },
    ],
    rows: items,
  });
}

function inputsBody(r: MatchAuditReport): SafeHtml {
  const t = r.inputs.totals;
  const reasons = Object.entries(t.quarantinedByReason).map(([reason, n]) => ({ reason, n }));
  return html`
${!r.inputs.reconciles ? notice('fail', 'FAIL: DOES NOT RECONCILE', html`<ul>${r.inputs.problems.map((p) => html`<li>${p}</li>`)}</ul>`) : t.rejectedFiles ? notice('warn', 'RECONCILES, FILES REJECTED', `Of ${formatInt(t.rows)} rows read in ${formatInt(t.files)} files, ${formatInt(t.accepted)} were accepted, ${formatInt(t.quarantined)} quarantined with a reason and ${formatInt(t.rejectedRows)} are in ${formatInt(t.rejectedFiles)} files rejected whole (not carried forward: see why below).`) : notice('pass', 'RECONCILES', `Every one of ${formatInt(t.rows)} rows in ${formatInt(t.files)} files was accepted (${formatInt(t.accepted)}) or quarantined with a reason (${formatInt(t.quarantined)}).`)}
${table({
  caption: 'Files read for this run',
  columns: [
    { label: 'File', cell: (f: MatchAuditReport['inputs']['files'][number]) => code(f.key), kind: 'code' },
    { label: 'Extract date', cell: (f) => formatDate(f.extractDate) },
    { label: 'SHA-256', cell: (f) => code(f.sha256), kind: 'code' },
    { label: 'Rows', key: 'rows', kind: 'num' },
    { label: 'Accepted', key: 'accepted', kind: 'num' },
    { label: 'Quarantined', key: 'quarantined', kind: 'num' },
    { label: 'In a rejected file', key: 'rejectedRows', kind: 'num' },
    {
      label: 'Quarantined by reason',
      cell: (f) =>
        f.rejected
          ? html`<span class="bad">file rejected: ${f.rejected}</span>`
          : Object.entries(f.quarantinedByReason)
              .map(([k, v]) => `${k} ${formatInt(v)}`)
              .join(', '),
    },
    { label: 'Reconciles', cell: (f) => status(f.reconciles, 'yes', 'NO') },
  ],
  rows: r.inputs.files,
  rowHeader: false,
  empty: 'no validation counts were found for this run.',
  className: 'compact',
  totals: {
    key: 'Total',
    source: '',
    feed: '',
    extractDate: null,
    sha256: '',
    rows: t.rows,
    accepted: t.accepted,
    quarantined: t.quarantined,
    rejectedRows: t.rejectedRows,
    quarantinedByReason: t.quarantinedByReason,
    rejected: t.rejectedFiles ? `${t.rejectedFiles} files` : null,
    reconciles: r.inputs.reconciles,
  },
})}
${
  r.inputs.ignored.length
    ? table({
        caption: 'Files in landing not read for this run',
        columns: [
          { label: 'File', cell: (f: { key: string; why: string }) => code(f.key) },
          {
            label: 'Why',
            cell: (f) =>
              f.why === 'after_as_at'
                ? 'extract dated after the as-at date'
                : f.why === 'superseded_snapshot'
                  ? 'snapshot superseded by a later extract'
                  : f.why.replaceAll('_', ' '),
          },
        ],
        rows: r.inputs.ignored,
        rowHeader: false,
        className: 'compact',
      })
    : ''
}
${reasons.length ? barChart({ title: 'Quarantined rows by reason', data: reasons.map((x) => ({ label: x.reason, value: x.n })), valueLabel: 'rows' }) : para('No row was quarantined.', true)}
${table({
  caption: 'People feeds: accepted rows and the records carried into matching',
  columns: [
    { label: 'Source', key: 'source' },
    { label: 'Feed', key: 'feed' },
    { label: 'Accepted rows', key: 'acceptedRows', kind: 'num' },
    { label: 'Records', key: 'records', kind: 'num' },
  ],
  rows: r.inputs.peopleFeeds,
})}`;
}

function modelBody(m: NonNullable<MatchAuditReport['linkage']['model']>): SafeHtml {
  return html`
${subheading('The model')}
${factList([
  [
    'Prior (λ)',
    `${formatProbability(m.prior.probability)} (weight ${formatSigned(m.prior.weight)}), from ${m.prior.source.replaceAll('_', ' ')}`,
  ],
  [
    'u estimated from',
    m.u
      ? `${formatInt(m.u.sampledPairs)} random pairs${m.u.exhaustive ? ' (all pairs)' : ''}, seed ${m.u.seed}`
      : 'not recorded',
  ],
  [
    'Deterministic rules',
    m.deterministicRules
      ? `${m.deterministicRules.rules.join('; ') || 'none'} (${formatInt(m.deterministicRules.pairs)} pairs, assumed recall ${formatPercent(m.deterministicRules.recall)})`
      : 'none',
  ],
  ...(m.labels
    ? [
        [
          'm from clerical labels',
          `${formatInt(m.labels.matches)} labelled matches in ${m.labels.labelledPairs}; EM's m shown beside them`,
        ] as [string, string],
      ]
    : []),
  [
    'Blocking',
    m.blocking
      ? `${formatInt(m.blocking.candidatePairs)} candidate pairs of ${formatInt(m.blocking.totalPossiblePairs)} possible (reduction ratio ${formatDecimal(m.blocking.reductionRatio, 6)})`
      : 'not recorded',
  ],
])}
${m.comparisons.map((c) =>
  table({
    caption: `${c.name}: m from ${c.mSource.replaceAll('_', ' ')}, u from ${c.uSource.replaceAll('_', ' ')}${c.termFrequency ? ', term-frequency adjusted on exact matches' : ''}`,
    columns: [
      { label: 'Level', key: 'label' },
      {
        label: c.mSource === 'labels' ? 'm (labels, used)' : 'm',
        hint: 'P(level | match)',
        kind: 'num',
        cell: (l: (typeof c.levels)[number]) => formatProbability(l.m),
      },
      ...(c.mSource === 'labels'
        ? [
            {
              label: 'm (EM)',
              hint: 'what EM estimated, for comparison',
              kind: 'num' as const,
              cell: (l: (typeof c.levels)[number]) => formatProbability(l.mEm ?? null),
            },
          ]
        : []),
      {
        label: 'u',
        hint: 'P(level | non-match)',
        kind: 'num',
        cell: (l: (typeof c.levels)[number]) => formatProbability(l.u),
      },
      { label: 'Weight', hint: 'log2(m/u)', kind: 'num', cell: (l) => formatSigned(l.weight) },
    ],
    rows: c.levels,
    className: 'compact',
  }),
)}
${subheading('EM convergence')}
${table({
  caption: 'Expectation-maximisation sessions (one per training blocking rule)',
  columns: [
    { label: 'Blocking rule', cell: (s: (typeof m.em)[number]) => code(s.rule) },
    { label: 'Pairs', key: 'pairs', kind: 'num' },
    { label: 'Iterations', key: 'iterations', kind: 'num' },
    { label: 'Converged', cell: (s) => status(s.converged, 'yes', 'no') },
    { label: 'Last change', kind: 'num', cell: (s) => formatProbability(s.finalMaxChange) },
    { label: 'λ', kind: 'num', cell: (s) => formatProbability(s.lambda) },
    { label: 'Not estimated here', cell: (s) => s.fixedComparisons.join(', ') },
  ],
  rows: m.em,
  empty: 'no EM sessions (m fixed or from clerical labels).',
})}
${
  m.em.some((s) => s.trace.length > 1)
    ? lineChart({
        title: 'Largest parameter change per EM iteration',
        xLabels: Array.from({ length: Math.max(...m.em.map((s) => s.trace.length)) }, (_, i) => String(i + 1)),
        series: m.em.map((s) => ({ name: s.rule, values: s.trace.map((v) => v) })),
        xLabel: 'iteration',
        yLabel: 'max change',
        format: (v) => formatProbability(v),
      })
    : ''
}`;
}

function linkageBody(r: MatchAuditReport): SafeHtml {
  const L = r.linkage;
  const thr = L.threshold;
  const atThr = L.sensitivity.find((s) => s.offset === 0);
  return html`
${keyFigures([
  { label: 'records', value: formatInt(L.records) },
  { label: 'persons', value: formatInt(L.persons), note: 'after clustering' },
  { label: 'pairs scored', value: formatInt(L.pairsScored) },
  {
    label: 'links',
    value: formatInt(L.links),
    note: `${formatInt(L.deterministicLinks)} agree on a strong identifier or deterministic rule, ${formatInt(L.probabilisticLinks)} by score only`,
  },
  {
    label: 'threshold',
    value: formatDecimal(thr.weight, 2),
    note: `match weight (probability ${formatPercent(thr.probability, 2)})`,
  },
])}
${stackedBarChart({
  title: 'Records per source: linked to at least one other source',
  categories: L.bySource.map((s) => s.source),
  series: [
    { name: 'linked to another source', values: L.bySource.map((s) => s.linkedToOtherSource) },
    {
      name: 'linked within the source only',
      values: L.bySource.map((s) => s.linkedToAnyRecord - s.linkedToOtherSource),
    },
    { name: 'not linked', values: L.bySource.map((s) => s.records - s.linkedToAnyRecord), colour: '#b1b4b6' },
  ],
  valueLabel: 'records',
})}
${table({
  caption: 'Records per source',
  columns: [
    { label: 'Source', key: 'source' },
    { label: 'Records', key: 'records', kind: 'num' },
    { label: 'Linked to another source', key: 'linkedToOtherSource', kind: 'num' },
    {
      label: 'Share',
      kind: 'num',
      cell: (s: MatchAuditReport['linkage']['bySource'][number]) => formatPercent(s.shareLinkedToOtherSource),
    },
    { label: 'Linked to any other record', key: 'linkedToAnyRecord', kind: 'num' },
  ],
  rows: L.bySource,
})}
${table({
  caption:
    'Links whose records agree on a strong identifier token or on every column of a deterministic rule (each link counted once, under the first)',
  columns: [
    {
      label: 'Agree on',
      cell: (x: { rule: string; links: number; plain?: boolean }) => (x.plain ? x.rule : code(x.rule)),
    },
    { label: 'Links', key: 'links', kind: 'num' },
  ],
  rows: [
    ...L.byDeterministicRule.rules,
    { rule: 'only the probabilistic score', links: L.byDeterministicRule.probabilisticOnly, plain: true },
  ],
})}
${L.byDeterministicRule.skippedRules.length ? para(`Not re-checked here (they use transforms): ${L.byDeterministicRule.skippedRules.join('; ')}.`, true) : ''}
${table({
  caption: 'Links by the blocking rule that first found the pair (match key)',
  columns: [
    { label: 'Match key', cell: (x: MatchAuditReport['linkage']['linksByRule'][number]) => code(x.matchKey) },
    ...(L.linksByRule.some((x) => x.kind === 'deterministic')
      ? [
          {
            label: 'How linked',
            cell: (x: MatchAuditReport['linkage']['linksByRule'][number]) =>
              x.kind === 'deterministic' ? 'deterministic rule' : 'match weight at or above the threshold',
          },
        ]
      : []),
    { label: 'Links', key: 'links', kind: 'num' },
    { label: 'Mean weight', kind: 'num', cell: (x) => formatDecimal(x.meanWeight, 2) },
  ],
  rows: L.linksByRule,
  empty: 'no links.',
})}
${histogram({
  title: 'Match weights of all scored pairs',
  bins: L.weightHistogram.bins,
  xLabel: 'match weight',
  yLabel: 'pairs',
  threshold: { value: thr.weight, label: 'threshold' },
  logScale: true,
  note: `Every pair the match stage kept (pairs far below the threshold are dropped there). Pairs at or above the threshold are linked, unless a veto rule holds or the chaining guard refused the merge. Weights outside the axis are counted in the end bins (${formatInt(L.weightHistogram.clampedBelow)} below, ${formatInt(L.weightHistogram.clampedAbove)} above)${L.weightHistogram.deterministicWithoutWeight ? `; ${formatInt(L.weightHistogram.deterministicWithoutWeight)} pairs have no weight` : ''}. Bar heights are on a log scale.`,
})}
${subheading('Threshold sensitivity')}
${para(L.sensitivity.length ? `How many links and persons there would be at other thresholds: the match stage clustered the records again at each, with the same veto rules, known-different pairs and chaining guard, so the row of this run is the run itself (${atThr ? `${formatInt(atThr.links)} links, ${formatInt(atThr.persons)} persons` : 'not recorded'}). A steep change near the threshold means many pairs are borderline.` : "Not recorded by this run's match stage.")}
${
  L.sensitivity.length
    ? [
        lineChart({
          title: 'Links and persons by threshold',
          xLabels: L.sensitivity.map((s) => formatDecimal(s.weight, 1)),
          series: [
            { name: 'links', values: L.sensitivity.map((s) => s.links) },
            { name: 'persons', values: L.sensitivity.map((s) => s.persons) },
          ],
          xLabel: 'threshold (match weight)',
          yLabel: 'count',
          markX: { index: L.sensitivity.findIndex((s) => s.offset === 0), label: 'this run' },
        }),
        table({
          caption: 'Threshold sensitivity',
          columns: [
            {
              label: 'Threshold weight',
              kind: 'num',
              cell: (s: MatchAuditReport['linkage']['sensitivity'][number]) =>
                html`${formatDecimal(s.weight, 2)}${s.offset === 0 ? html` <strong>(this run)</strong>` : ''}`,
            },
            { label: 'Offset', kind: 'num', cell: (s) => formatSigned(s.offset, 0) },
            { label: 'Probability', kind: 'num', cell: (s) => formatPercent(s.probability, 2) },
            { label: 'Links', key: 'links', kind: 'num' },
            { label: 'Persons', key: 'persons', kind: 'num' },
          ],
          rows: L.sensitivity,
        }),
      ]
    : ''
}
${
  L.explanations.length
    ? html`${subheading('How a borderline pair is scored')}
${para("Every link can be explained: the prior weight, then each comparison's contribution log2(m/u) for the level the two records reached (term-frequency adjusted for exact names). These are the scored pairs nearest the threshold on either side.")}
${L.explanations.map((e) =>
  waterfallChart({
    title: `${e.recordIdL} and ${e.recordIdR}: ${e.linked ? 'at or above the threshold' : 'below the threshold'} (match weight ${formatDecimal(e.matchWeight, 2)}, found by ${e.matchKey})`,
    start: { label: 'Prior', value: e.priorWeight },
    steps: e.comparisons.map((c) => ({ label: `${c.comparison}: ${c.level}`, value: c.weight })),
    totalLabel: 'Match weight',
    threshold: { value: thr.weight, label: 'threshold' },
  }),
)}`
    : ''
}
${L.model ? modelBody(L.model) : notice('warn', 'NO MODEL', 'The match model (model.json) was not found for this run.')}`;
}

function clustersBody(r: MatchAuditReport): SafeHtml {
  const c = r.clusters;
  return html`
${barChart({ title: 'Persons by number of records', data: c.sizeDistribution.map((s) => ({ label: `${s.size} record${s.size === 1 ? '' : 's'}`, value: s.persons })), valueLabel: 'persons' })}
${table({
  caption: 'The largest persons (most records)',
  columns: [
    { label: 'Person id', cell: (x: MatchAuditReport['clusters']['largest'][number]) => code(x.personId) },
    { label: 'Records', key: 'records', kind: 'num' },
    { label: 'Sources', cell: (x) => x.sources.join(', ') },
  ],
  rows: c.largest,
  empty: 'no person has more than one record.',
})}
${subheading('Suspicious persons')}
${para('Computed in the secure zone; only counts and person ids are published. An authorised officer can look the person ids up in the secure zone.', true)}
${table({
  caption: 'Persons that may hold more than one real person',
  columns: [
    { label: 'Check', cell: (x: { check: string; n: number; ids: SafeHtml }) => x.check },
    { label: 'Persons', kind: 'num', cell: (x) => formatInt(x.n) },
    { label: 'Person ids', cell: (x) => x.ids },
  ],
  rows: [
    {
      check: 'Different NHS number or UPN tokens in one person',
      n: c.conflictingTokens.persons,
      ids: idList(c.conflictingTokens.personIds, c.conflictingTokens.persons),
    },
    {
      check: `Dates of birth more than ${c.implausibleDobSpread.thresholdDays} days apart in one person`,
      n: c.implausibleDobSpread.persons,
      ids: idList(c.implausibleDobSpread.personIds, c.implausibleDobSpread.persons),
    },
    ...(c.personsInMoreThanOneFamily
      ? [
          {
            check: 'Persons in more than one family',
            n: c.personsInMoreThanOneFamily.persons,
            ids: idList(c.personsInMoreThanOneFamily.personIds, c.personsInMoreThanOneFamily.persons),
          },
        ]
      : []),
  ],
})}
${c.personsInMoreThanOneFamily ? '' : para('Family membership was not available when this report was built.', true)}
${subheading('Merges refused by the chaining guard')}
${
  c.refusedMerges
    ? html`${para(
        `${formatInt(c.refusedMerges.total)} ${c.refusedMerges.total === 1 ? 'merge was' : 'merges were'} refused${
          Object.keys(c.refusedMerges.byReason).length
            ? `: ${Object.entries(c.refusedMerges.byReason)
                .map(([k, v]) => `${k.replaceAll('_', ' ')} ${formatInt(v)}`)
                .join(', ')}`
            : ''
        }.`,
      )}
${table({
  caption: `Refused merges (strongest first${c.refusedMerges.total > 20 ? `; the first 20 of ${formatInt(c.refusedMerges.total)}, up to 50 in report.json` : ''})`,
  columns: [
    {
      label: 'Record',
      cell: (x: NonNullable<MatchAuditReport['clusters']['refusedMerges']>['listed'][number]) => code(x.recordIdL),
    },
    { label: 'Record', cell: (x) => code(x.recordIdR) },
    { label: 'Reason', cell: (x) => `${x.reason.replaceAll('_', ' ')}${x.column ? ` (${x.column})` : ''}` },
    { label: 'Weight', kind: 'num', cell: (x) => formatDecimal(x.matchWeight, 2) },
    { label: 'Probability', kind: 'num', cell: (x) => formatPercent(x.matchProbability, 2) },
  ],
  rows: c.refusedMerges.listed.slice(0, 20),
  rowHeader: false,
  empty: 'none.',
})}`
    : para('The clustering summary (clustering.json) was not found for this run.', true)
}`;
}

function biasTable(title: string, groups: BiasGroup[], overall: number): SafeHtml {
  return html`${stackedBarChart({
    title: `Linked and unlinked records by ${title}`,
    categories: groups.map((g) => g.group),
    series: [
      { name: 'linked', values: groups.map((g) => g.linked) },
      { name: 'not linked', values: groups.map((g) => g.records - g.linked), colour: '#b1b4b6' },
    ],
    percent: true,
    valueLabel: 'records',
  })}${table({
    caption: `Link rate by ${title}`,
    columns: [
      { label: title[0]!.toUpperCase() + title.slice(1), key: 'group' },
      { label: 'Records', key: 'records', kind: 'num' },
      { label: 'Linked', key: 'linked', kind: 'num' },
      { label: 'Link rate', kind: 'num', cell: (g: BiasGroup) => formatPercent(g.rate) },
      { label: 'Against overall', kind: 'num', cell: (g) => `${formatSigned((g.rate - overall) * 100, 1)} pts` },
    ],
    rows: groups,
    className: 'compact',
  })}`;
}

function biasBody(r: MatchAuditReport): SafeHtml {
  const b = r.bias;
  return html`
${para(`A record is linked when its person holds at least one other record. Overall ${formatPercent(b.overall.rate)} of ${formatInt(b.overall.records)} records are linked. A group linked much less often than others may be under-served by the matching (for example names recorded differently, or fewer strong identifiers), and so under-represented in target lists.`)}
${b.flagged.length ? notice('warn', 'LOOK AT THIS', html`Linked more than ${Math.round(BIAS_FLAG_POINTS * 100)} points below the overall rate (groups of ${BIAS_FLAG_MIN_RECORDS}+ records): ${b.flagged.map((f, i) => html`${i ? '; ' : ''}<strong>${groupLabel(f.dimension, f.group)}</strong> ${formatPercent(f.rate)} of ${formatInt(f.records)}`)}`) : notice('pass', 'NO GROUP FLAGGED', `No group of ${BIAS_FLAG_MIN_RECORDS}+ records is linked more than ${Math.round(BIAS_FLAG_POINTS * 100)} points below the overall rate.`)}
${biasTable(
  'age band',
  b.byAgeBand.map((g) => ({ ...g, group: AGE_LABELS[g.group] ?? g.group })),
  b.overall.rate,
)}
${biasTable('sex', b.bySex, b.overall.rate)}
${biasTable('locality', b.byLocality, b.overall.rate)}
${biasTable('source', b.bySource, b.overall.rate)}`;
}

function reviewBody(r: MatchAuditReport): SafeHtml {
  const v = r.review;
  if (!v) {
    return html`${para('No clerical review has been imported for this run. To estimate precision and recall:')}
<ol><li><code>npm run locality -- review export --out &lt;run output dir&gt; --as-at ${r.asAt}</code> draws a stratified sample of pairs around the threshold into the secure zone (CSV and a reviewer page);</li>
<li>reviewers fill the <code>decision</code> column with match, non-match or unsure;</li>
<li><code>npm run locality -- review import decisions.csv --out &lt;run output dir&gt; --as-at ${r.asAt}</code>, then re-publish: the estimate appears here.</li></ol>`;
  }
  const ci = (i: { estimate: number; lower: number; upper: number } | null) =>
    i
      ? `${formatPercent(i.estimate)} (95% CI ${formatPercent(i.lower)} to ${formatPercent(i.upper)})`
      : 'not estimable';
  return html`
${keyFigures([
  {
    label: 'precision',
    value: v.precision ? formatPercent(v.precision.estimate) : '–',
    note: v.precision
      ? `95% CI ${formatPercent(v.precision.lower)} to ${formatPercent(v.precision.upper)}`
      : 'no linked pair reviewed',
  },
  {
    label: 'recall',
    value: v.recall ? formatPercent(v.recall.estimate) : '–',
    note: v.recall
      ? `95% CI ${formatPercent(v.recall.lower)} to ${formatPercent(v.recall.upper)}`
      : 'no match found in the sample',
  },
  {
    label: 'decisions',
    value: formatInt(v.decisions.total),
    note: `${formatInt(v.decisions.match)} match, ${formatInt(v.decisions.nonMatch)} non-match, ${formatInt(v.decisions.unsure)} unsure`,
  },
])}
${factList([
  ['Precision', ci(v.precision)],
  ['Recall', ci(v.recall)],
  ['Threshold at review', formatDecimal(v.threshold, 2)],
  [
    'Population',
    v.population
      ? `${formatInt(v.population.pairs)} pairs this run scored or joined into one person (${formatInt(v.population.linked)} linked in this run)`
      : 'not recorded',
  ],
  ['Pairs in unreviewed strata', formatInt(v.unreviewedPairs)],
])}
${para(v.method, true)}
${table({
  caption: 'Review results by stratum (linked in this run or not, by match-weight band)',
  columns: [
    { label: 'Stratum', key: 'label' },
    {
      label: 'Linked in this run?',
      cell: (s: NonNullable<MatchAuditReport['review']>['strata'][number]) => (s.linked ? 'yes' : 'no'),
    },
    { label: 'Pairs', key: 'population', kind: 'num' },
    { label: 'Sampled', key: 'sampled', kind: 'num' },
    { label: 'Match', key: 'match', kind: 'num' },
    { label: 'Non-match', key: 'nonMatch', kind: 'num' },
    { label: 'Unsure', key: 'unsure', kind: 'num' },
    {
      label: 'Match rate (95% CI)',
      cell: (s) =>
        s.matchRate
          ? `${formatPercent(s.matchRate.estimate)} (${formatPercent(s.matchRate.lower)} to ${formatPercent(s.matchRate.upper)})`
          : '–',
    },
  ],
  rows: v.strata.filter((s) => s.population > 0 || s.sampled > 0),
})}`;
}

function privacyBody(r: MatchAuditReport): SafeHtml {
  const p = r.privacy;
  const kinds = Object.entries(p.identifiersSearched)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${formatInt(n)} ${KIND_PLURALS[k as keyof typeof KIND_PLURALS]}`)
    .join(', ');
  const m = r.manifest;
  const mv = (k: string): string => {
    const v = m?.[k];
    if (v === undefined || v === null) return 'not recorded';
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  };
  const cfg = (m?.config ?? null) as { version?: string; sha256?: string } | null;
  return html`
${
  p.status === 'pass'
    ? notice(
        'pass',
        'PASS',
        `No clear identifier from the secure zone was found in any of ${formatInt(p.files.length)} published files (outputs and curated tables).`,
      )
    : notice(
        'fail',
        'FAIL',
        `${formatInt(p.findingsTotal)} clear identifiers found and ${formatInt(p.unreadableFiles)} files could not be read. Withdraw the affected files and fix the cause before release.`,
      )
}
${para(`Searched for ${kinds || 'nothing (no secure records)'} taken from ${formatInt(p.secureRecords)} secure person records. Single names are matched as whole values in data cells; full names, address lines, postcodes and tokens anywhere; dates of birth in date-of-birth fields. Findings name the file, the place and the kind of identifier, never the value.`, true)}
${
  p.findingsTotal
    ? table({
        caption: `Clear identifiers found${p.findingsTotal > p.findings.length ? ` (first ${formatInt(p.findings.length)} of ${formatInt(p.findingsTotal)})` : ''}`,
        columns: [
          { label: 'File', cell: (f: MatchAuditReport['privacy']['findings'][number]) => code(`${f.zone}/${f.key}`) },
          { label: 'Where', key: 'location' },
          { label: 'Kind', cell: (f) => KIND_LABELS[f.kind] },
          { label: 'Secure record', cell: (f) => f.recordIds.map((id, i) => html`${i ? ', ' : ''}<code>${id}</code>`) },
        ],
        rows: p.findings,
        rowHeader: false,
      })
    : ''
}
${table({
  caption: 'Files scanned',
  columns: [
    { label: 'File', cell: (f: MatchAuditReport['privacy']['files'][number]) => code(`${f.zone}/${f.key}`) },
    { label: 'Format', key: 'format' },
    { label: 'Values checked', key: 'units', kind: 'num' },
    { label: 'Findings', key: 'findings', kind: 'num' },
    {
      label: 'Result',
      cell: (f) =>
        f.error ? html`<span class="bad">unreadable: ${f.error}</span>` : status(f.findings === 0, 'clean', 'LEAK'),
    },
  ],
  rows: p.files,
  rowHeader: false,
  className: 'compact',
})}
${subheading('Run manifest')}
${
  m
    ? factList([
        ['Run id', code(mv('runId'))],
        ['As-at date', formatDate(mv('asAt'))],
        ['Ran by', mv('ranBy')],
        ['Code version', code(mv('codeVersion'))],
        ['Config version', cfg?.version ?? 'not recorded'],
        ['Config SHA-256', code(cfg?.sha256 ?? 'not recorded')],
        ['Rule-set version', mv('ruleSetVersion')],
        ['Input files', formatInt(Array.isArray(m.inputs) ? m.inputs.length : 0)],
      ])
    : notice('warn', 'NO MANIFEST', 'The run manifest was not found: who ran this and with which code cannot be shown.')
}`;
}

export function renderAuditHtml(r: MatchAuditReport): string {
  const t = r.inputs.totals;
  return renderPage({
    title: 'Match audit report',
    subtitle: `As at ${formatDate(r.asAt)} · run ${r.runId}`,
    banner: html`${
      r.privacy.status === 'pass'
        ? notice(
            'pass',
            'PRIVACY SCAN PASSED',
            "No clear identifier left the secure zone in this run's published outputs.",
          )
        : notice(
            'fail',
            'PRIVACY SCAN FAILED',
            `${formatInt(r.privacy.findingsTotal)} clear identifiers found in published outputs: see Privacy.`,
          )
    }${
      r.signoff
        ? notice(
            r.signoff.decision === 'approve' ? 'pass' : 'fail',
            r.signoff.decision === 'approve' ? 'SIGNED OFF' : 'REJECTED',
            `Information governance sign-off: ${r.signoff.decision === 'approve' ? 'approved' : 'rejected'} by ${r.signoff.by} on ${r.signoff.at.slice(0, 10)}${r.signoff.note ? `: ${r.signoff.note}` : ''}`,
          )
        : ''
    }${r.headlineCoverage ? (notEvidencedNotice(r.headlineCoverage) ?? '') : ''}`,
    intro: html`${keyFigures([
      { label: 'files read', value: formatInt(t.files) },
      { label: 'rows accepted', value: formatInt(t.accepted), note: `of ${formatInt(t.rows)}` },
      { label: 'rows quarantined', value: formatInt(t.quarantined) },
      { label: 'records matched', value: formatInt(r.linkage.records) },
      { label: 'persons', value: formatInt(r.linkage.persons) },
      { label: 'links', value: formatInt(r.linkage.links) },
    ])}${checklist(r)}`,
    sections: [
      { title: 'Inputs', lead: 'Every file read, its SHA-256, and what happened to each row.', body: inputsBody(r) },
      {
        title: 'Linkage',
        lead: 'How records were linked into persons, how strong the links are, and how the threshold matters.',
        body: linkageBody(r),
      },
      {
        title: 'Cluster quality',
        lead: 'Where linkage may have joined different people, or refused to.',
        body: clustersBody(r),
      },
      {
        title: 'Ids since the last run',
        lead: 'Which person and family ids were kept, new, merged, split or retired.',
        body: lineageBody(r.idLineage),
      },
      {
        title: 'Linkage bias',
        lead: 'Link rates by group: a group the matching under-serves shows here.',
        body: biasBody(r),
      },
      {
        title: 'Clerical review',
        lead: "Precision and recall estimated from reviewers' decisions on a stratified sample of pairs.",
        body: reviewBody(r),
      },
      ...(r.headlineCoverage ? [coverageSection(r.headlineCoverage)] : []),
      {
        title: 'Privacy and the run manifest',
        lead: 'Proof that no clear identifier left the secure zone, and who ran what.',
        body: privacyBody(r),
      },
    ],
    footer: html`Produced by the locality pipeline's publish stage. The same figures are in <code>report.json</code> next to this file. Contains pseudonymous ids and counts only.`,
  });
}
