/**
 * Where the clerical review keeps its files: all in the secure zone (they hold clear values side by side),
 * except the estimate, which holds counts only and is copied into the match audit report.
 */
import { REVIEW_DIR } from '../layout.ts';

export { REVIEW_DIR };
/** The sample as drawn: pairs, strata, populations (secure: record ids and weights). */
export const REVIEW_SAMPLE_JSON = `${REVIEW_DIR}/sample.json`;
/** For reviewers: side-by-side values with an empty `decision` column (secure: clear values). */
export const REVIEW_SAMPLE_CSV = `${REVIEW_DIR}/sample.csv`;
export const REVIEW_SAMPLE_HTML = `${REVIEW_DIR}/sample.html`;
/** Validated decisions (pair id, record ids, decision). */
export const REVIEW_DECISIONS = `${REVIEW_DIR}/decisions.json`;
/** Clerical labels in the linkage engine's format (unique_id_l, unique_id_r, clerical_match_score): trains m. */
export const REVIEW_LABELLED_PAIRS = `${REVIEW_DIR}/labelled-pairs.csv`;
/** Precision / recall estimate (counts and rates only). */
export const REVIEW_ESTIMATE = `${REVIEW_DIR}/estimate.json`;
