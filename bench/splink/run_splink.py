"""Run Splink (DuckDB backend) on the same inputs and settings file as our `link` command.

    python bench/splink/run_splink.py --settings bench/settings/febrl3.json --out DIR INPUT [INPUT2]
    python bench/splink/run_splink.py --settings ... --count-pairs INPUT [INPUT2]   # candidate pairs only

The settings file is ours (matching/settings.ts); this script translates it into the nearest Splink 4
settings so both tools compare the same columns and block on the same rules:

    exact        -> ExactMatch
    levenshtein  -> LevenshteinAtThresholds(distances, default [1, 2])
    jaro_winkler -> JaroWinklerAtThresholds(similarities, default [0.92, 0.88, 0.7])
    string       -> custom: exact / Levenshtein <= 1 / Jaro-Winkler >= similarities (default 0.9, 0.8)
    name         -> NameComparison(jaro_winkler_thresholds=similarities, default [0.92, 0.88, 0.7]); with
                    distances: exact / Levenshtein <= distances / Jaro-Winkler bands
    date         -> DateOfBirthComparison on the values normalised to YYYY-MM-DD (from `format`)
    postcode_uk  -> PostcodeComparison (full / sector / district / area)
    identifier   -> ExactMatch, or LevenshteinAtThresholds(distances) when distances are given
    termFrequency (default on for name) -> term_frequency_adjustments on the exact level

Where Splink has no equivalent it keeps its own library's levels: NameComparison has no
nickname/transliteration level, DateOfBirthComparison's levels are exact / one edit / within a month
/ a year / ten years (ours: exact / day-month transposed / one edit / same year-month / within a year).
Values are normalised first as our engine does (names: accents folded, upper case, letters, spaces
and hyphens only; strings: upper case, spaces collapsed; UK postcodes: "M145RB" -> "M14 5RB"), so both
tools block and compare the same values. Blocking-rule transforms (soundex, prefixN, year, yearmonth, sector, district, area, first_token,
last_token) become the same SQL expressions (soundex as a Python UDF identical to ours).

Training is Splink's own, as in its tutorials: u by random sampling (uSamplePairs pairs, seed), the
prior from the deterministic rules (recall = deterministicRecall) unless the settings fix it, m by EM
blocked on each blocking rule (or em.sessions). Then predict at the threshold, cluster at the same
threshold (connected components), write pairs.csv, clusters.csv, splink-model.json and stats.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import time
from pathlib import Path

import duckdb
import splink
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

logging.getLogger("splink").setLevel(logging.ERROR)


def fail(message: str) -> None:
    print(f"run_splink: {message}", file=sys.stderr)
    sys.exit(2)


def sql_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


SOUNDEX_CODES = {**dict.fromkeys("BFPV", "1"), **dict.fromkeys("CGJKQSXZ", "2"), **dict.fromkeys("DT", "3"),
                 "L": "4", **dict.fromkeys("MN", "5"), "R": "6"}


def soundex(value: str | None) -> str | None:
    """American Soundex, as matching/similarity.ts computes it (None when no letters)."""
    if value is None:
        return None
    s = "".join(ch for ch in value.upper() if "A" <= ch <= "Z")
    if not s:
        return None
    out = s[0]
    last = SOUNDEX_CODES.get(s[0], "")
    for ch in s[1:]:
        if len(out) >= 4:
            break
        code = SOUNDEX_CODES.get(ch, "")
        if code and code != last:
            out += code
        if ch not in "HW":
            last = code
    return out.ljust(4, "0")


SECTOR = "^[A-Za-z]{1,2}[0-9][A-Za-z0-9]? ?[0-9]"
DISTRICT = "^[A-Za-z]{1,2}[0-9][A-Za-z0-9]?"
AREA = "^[A-Za-z]{1,2}"


class RuleTranslator:
    """Blocking-rule terms ("column" or "column:transform", matching/blocking.ts) as Splink SQL."""

    def term(self, term: str) -> str:
        column, _, transform = term.rpartition(":") if ":" in term else (term, "", "")
        column = column.strip()
        transform = transform.strip()
        c = sql_identifier(column)
        if not transform:
            return c
        prefix = re.fullmatch(r"(?:prefix|first)(\d+)", transform)
        if prefix:
            return f"substr({c}, 1, {int(prefix.group(1))})"
        if transform == "soundex":
            return f"bench_soundex({c})"
        if transform == "year":
            return f"CASE WHEN regexp_matches({c}, '^\\d{{4}}') THEN substr({c}, 1, 4) END"
        if transform == "yearmonth":
            return f"CASE WHEN regexp_matches({c}, '^\\d{{4}}-\\d{{2}}') THEN substr({c}, 1, 7) END"
        if transform in ("sector", "district", "area"):
            pattern = {"sector": SECTOR, "district": DISTRICT, "area": AREA}[transform]
            return f"nullif(regexp_extract(upper({c}), '{pattern}'), '')"
        if transform == "first_token":
            return f"nullif(regexp_extract({c}, '^[^\\s-]+'), '')"
        if transform == "last_token":
            return f"nullif(regexp_extract({c}, '[^\\s-]+$'), '')"
        fail(f"blocking rule term {term!r}: transform {transform!r} has no Splink translation here")
        return c

    def rule(self, rule: list[str]):
        return block_on(*[self.term(t) for t in rule])


def comparison_to_splink(c: dict):
    """Our comparison types (matching/comparisons.ts levelsFor) as the nearest Splink 4 comparison."""
    column = c["column"].strip()
    kind = c["type"]
    sims = c.get("similarities")
    dists = c.get("distances")
    if kind == "exact":
        comparison = cl.ExactMatch(column)
    elif kind == "levenshtein":
        comparison = cl.LevenshteinAtThresholds(column, dists or [1, 2])
    elif kind == "jaro_winkler":
        comparison = cl.JaroWinklerAtThresholds(column, sims or [0.92, 0.88, 0.7])
    elif kind == "string":
        # ours: exact, levenshtein <= 1, jaro-winkler >= 0.9, >= 0.8, else
        levels = [cll.NullLevel(column), cll.ExactMatchLevel(column), cll.LevenshteinLevel(column, 1)]
        levels += [cll.JaroWinklerLevel(column, t) for t in (sims or [0.9, 0.8])]
        levels.append(cll.ElseLevel())
        comparison = cl.CustomComparison(comparison_levels=levels, output_column_name=column)
    elif kind == "name" and dists:
        # ours: exact, [nickname level: no Splink equivalent], levenshtein <= distances, jaro-winkler bands, else
        levels = [cll.NullLevel(column), cll.ExactMatchLevel(column)]
        levels += [cll.LevenshteinLevel(column, d) for d in dists]
        levels += [cll.JaroWinklerLevel(column, t) for t in (sims or [0.92, 0.88, 0.7])]
        levels.append(cll.ElseLevel())
        comparison = cl.CustomComparison(comparison_levels=levels, output_column_name=column)
    elif kind == "name":
        comparison = cl.NameComparison(column, jaro_winkler_thresholds=sims or [0.92, 0.88, 0.7])
    elif kind == "date":
        # values are already YYYY-MM-DD (normalised on load, as ours)
        comparison = cl.DateOfBirthComparison(column, input_is_string=True, datetime_format="%Y-%m-%d")
    elif kind == "postcode_uk":
        comparison = cl.PostcodeComparison(column)
    elif kind == "identifier":
        comparison = cl.LevenshteinAtThresholds(column, dists) if dists else cl.ExactMatch(column)
    else:
        fail(f"comparison on {column!r}: unknown type {kind!r}")
    if c.get("termFrequency", kind == "name"):
        comparison = comparison.configure(term_frequency_adjustments=True)
    return comparison


# The same value normalisation our engine applies before blocking and comparing
# (matching/comparisons.ts normaliserFor), in DuckDB SQL, so both tools see the same values.
NORMALISE_SQL = {
    "name": lambda c: (
        "nullif(trim(regexp_replace(regexp_replace(regexp_replace(upper(strip_accents(" + c + ")), "
        "'[^A-Z\\s-]', '', 'g'), '\\s*-\\s*', '-', 'g'), '\\s+', ' ', 'g')), '')"),
    "string": lambda c: "nullif(trim(regexp_replace(upper(" + c + "), '\\s+', ' ', 'g')), '')",
    "postcode_uk": lambda c: (
        "nullif(regexp_replace(regexp_replace(upper(" + c + "), '[^A-Z0-9]', '', 'g'), "
        "'^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$', '\\1 \\2'), '')"),
}


def date_normalise_sql(fmt: str | None):
    """Dates parsed with `format` (default: yyyy-MM-dd, yyyyMMdd, dd/MM/yyyy) to YYYY-MM-DD; unparseable
    values kept as they are (matching/comparisons.ts dateNormaliser)."""
    formats = [fmt] if fmt else ["yyyy-MM-dd", "yyyyMMdd", "dd/MM/yyyy"]

    def build(c: str) -> str:
        cases = []
        for f in formats:
            regex, order, i = "^", [], 0
            while i < len(f):
                token = next((t for t in ("yyyy", "MM", "dd") if f.startswith(t, i)), None)
                if token:
                    regex += "(\\d{4})" if token == "yyyy" else "(\\d{1,2})"
                    order.append(token)
                    i += len(token)
                else:
                    regex += re.escape(f[i]).replace("'", "''")
                    i += 1
            regex += "$"
            group = {t: order.index(t) + 1 for t in order}
            if set(group) != {"yyyy", "MM", "dd"}:
                fail(f"date format {f!r}: expected yyyy, MM and dd tokens")
            part = lambda t, width: f"lpad(regexp_extract({c}, '{regex}', {group[t]}), {width}, '0')"
            cases.append(f"WHEN regexp_matches({c}, '{regex}') THEN "
                         f"{part('yyyy', 4)} || '-' || {part('MM', 2)} || '-' || {part('dd', 2)}")
        return f"CASE {' '.join(cases)} ELSE {c} END"

    return build


TRANSLATED_COMPARISON_KEYS = {"column", "type", "name", "format", "distances", "similarities", "termFrequency"}
TRANSLATED_TOP_KEYS = {"linkType", "uniqueIdColumn", "comparisons", "blockingRules", "deterministicRules",
                       "deterministicRecall", "probabilityTwoRandomRecordsMatch", "thresholdProbability",
                       "thresholdWeight", "uSamplePairs", "seed", "em"}
# Keys that change only how our engine runs, not the model: nothing to translate.
ENGINE_ONLY_KEYS = {"workers", "shards", "maxPairsPerRule"}


def untranslated(ours: dict) -> list[str]:
    """Settings of ours that this translation does not carry over to Splink (reported, never hidden)."""
    out = []
    for c in ours.get("comparisons", []):
        for key in sorted(set(c) - TRANSLATED_COMPARISON_KEYS):
            out.append(f"comparisons[{c.get('column')}].{key}")
    for key in sorted(set(ours) - TRANSLATED_TOP_KEYS - ENGINE_ONLY_KEYS):
        out.append(key)
    return out


def load_inputs(con: duckdb.DuckDBPyConnection, paths: list[str], comparisons: list[dict]) -> list[str]:
    """Load each input as text with trimmed names and values (blank -> NULL), compared columns normalised."""
    normaliser_of: dict[str, object] = {}
    for c in comparisons:
        column = c["column"].strip()
        if column in normaliser_of:
            continue
        normaliser_of[column] = date_normalise_sql(c.get("format")) if c["type"] == "date" else NORMALISE_SQL.get(c["type"])
    tables = []
    for k, path in enumerate(paths):
        if not os.path.exists(path):
            fail(f"{path}: no such file")
        escaped = path.replace("'", "''")
        if path.endswith(".parquet"):
            source = f"read_parquet('{escaped}')"
        else:
            source = f"read_csv('{escaped}', all_varchar = true, header = true, delim = ',', quote = '\"')"
        columns = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
        parts = []
        for col in columns:
            value = f"nullif(trim(CAST({sql_identifier(col)} AS VARCHAR)), '')"
            normalise = normaliser_of.get(col.strip())
            parts.append(f"{normalise(value) if normalise else value} AS {sql_identifier(col.strip())}")
        table = f"input_{k}"
        con.execute(f"CREATE TABLE {table} AS SELECT {', '.join(parts)} FROM {source}")
        tables.append(table)
    return tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", required=True)
    parser.add_argument("--out")
    parser.add_argument("--count-pairs", action="store_true", help="only count candidate pairs from the blocking rules")
    parser.add_argument("--threads", type=int, default=0, help="DuckDB threads (0 = DuckDB's default: all cores)")
    parser.add_argument("inputs", nargs="+")
    args = parser.parse_args()
    if len(args.inputs) > 2:
        fail("one input (dedupe) or two (link)")
    if not args.count_pairs and not args.out:
        fail("--out is required")

    with open(args.settings, encoding="utf-8") as f:
        ours = json.load(f)
    link_type = ours.get("linkType", "dedupe_only")
    if len(args.inputs) == 1 and link_type != "dedupe_only":
        fail(f"linkType {link_type} needs two inputs")
    uid = ours.get("uniqueIdColumn", "unique_id").strip()
    threshold_p = ours.get("thresholdProbability")
    threshold_w = ours.get("thresholdWeight")
    if threshold_p is None and threshold_w is None:
        threshold_p = 0.5
    seed = int(ours.get("seed", 42))
    rules = RuleTranslator()
    blocking = [rules.rule(r) for r in ours["blockingRules"]]

    phases: dict[str, float] = {}
    t0 = time.perf_counter()
    mark = t0

    def lap(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        phases[name] = round(now - mark, 3)
        mark = now

    con = duckdb.connect(":memory:")
    con.create_function("bench_soundex", soundex, ["VARCHAR"], "VARCHAR", null_handling="special")
    if args.threads > 0:
        con.execute(f"SET threads = {args.threads}")
    tables = load_inputs(con, args.inputs, ours["comparisons"])
    aliases = [Path(p).name for p in args.inputs]
    records = sum(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables)
    db_api = DuckDBAPI(connection=con)
    lap("load")

    if args.count_pairs:
        from splink.blocking_analysis import cumulative_comparisons_to_be_scored_from_blocking_rules_data

        counts = cumulative_comparisons_to_be_scored_from_blocking_rules_data(
            table_or_tables=tables if len(tables) > 1 else tables[0],
            blocking_rules=blocking,
            link_type=link_type,
            db_api=db_api,
            unique_id_column_name=uid,
            max_rows_limit=int(1e12),
        )
        total = int(counts["row_count"].sum())
        print(json.dumps({"records": records, "candidatePairs": total,
                          "perRule": [int(x) for x in counts["row_count"]]}))
        return

    settings_kwargs = {}
    if ours.get("probabilityTwoRandomRecordsMatch") is not None:
        settings_kwargs["probability_two_random_records_match"] = ours["probabilityTwoRandomRecordsMatch"]
    settings = SettingsCreator(
        link_type=link_type,
        unique_id_column_name=uid,
        comparisons=[comparison_to_splink(c) for c in ours["comparisons"]],
        blocking_rules_to_generate_predictions=blocking,
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
        **settings_kwargs,
    )
    linker = Linker(tables if len(tables) > 1 else tables[0], settings, db_api,
                    input_table_aliases=aliases if len(tables) > 1 else aliases[0])

    deterministic = ours.get("deterministicRules") or []
    if ours.get("probabilityTwoRandomRecordsMatch") is None and deterministic:
        linker.training.estimate_probability_two_random_records_match(
            [rules.rule(r) for r in deterministic], recall=float(ours.get("deterministicRecall", 0.9)))
    lap("prior")
    linker.training.estimate_u_using_random_sampling(max_pairs=float(ours.get("uSamplePairs", 2_000_000)), seed=seed)
    lap("train_u")
    sessions = (ours.get("em") or {}).get("sessions")
    em_rules = [ours["blockingRules"][i] for i in sessions] if sessions is not None else ours["blockingRules"]
    em_failures = []
    for rule in em_rules:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(rules.rule(rule))
        except Exception as error:  # Splink refuses a session that can estimate nothing; carry on as its users do
            em_failures.append({"rule": rule, "error": str(error).splitlines()[0][:200]})
    lap("train_m_em")

    if threshold_p is not None:
        df_predict = linker.inference.predict(threshold_match_probability=threshold_p)
        lap("predict")
        df_clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            df_predict, threshold_match_probability=threshold_p)
    else:
        df_predict = linker.inference.predict(threshold_match_weight=threshold_w)
        lap("predict")
        df_clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            df_predict, threshold_match_weight=threshold_w)
    lap("cluster")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    uid_l, uid_r = sql_identifier(f"{uid}_l"), sql_identifier(f"{uid}_r")
    link = len(tables) > 1
    src = ", source_dataset_l, source_dataset_r" if link else ""
    order = "source_dataset_l, unique_id_l, source_dataset_r, unique_id_r" if link else "unique_id_l, unique_id_r"
    pairs_path = str(out / "pairs.csv").replace("'", "''")
    con.execute(
        f"COPY (SELECT {uid_l} AS unique_id_l, {uid_r} AS unique_id_r, match_weight, match_probability{src} "
        f"FROM {df_predict.physical_name} ORDER BY {order}) TO '{pairs_path}' (HEADER, DELIMITER ',')")
    cluster_src = ", source_dataset" if link else ""
    clusters_path = str(out / "clusters.csv").replace("'", "''")
    con.execute(
        f"COPY (SELECT {sql_identifier(uid)} AS unique_id, cluster_id{cluster_src} FROM {df_clusters.physical_name} "
        f"ORDER BY {'source_dataset, ' if link else ''}unique_id) TO '{clusters_path}' (HEADER, DELIMITER ',')")
    linker.misc.save_model_to_json(str(out / "splink-model.json"), overwrite=True)
    lap("write")

    predicted = con.execute(f"SELECT count(*) FROM {df_predict.physical_name}").fetchone()[0]
    stats = {
        "tool": "splink",
        "splinkVersion": splink.__version__,
        "duckdbVersion": duckdb.__version__,
        "records": records,
        "linkType": link_type,
        "pairsAtThreshold": predicted,
        "phases": phases,
        "seconds": round(time.perf_counter() - t0, 3),
        "emFailures": em_failures,
        "untranslatedSettings": untranslated(ours),
    }
    (out / "stats.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
