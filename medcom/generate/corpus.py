"""`medcom generate OUT --bad-corpus`: realistic bad (and tricky-but-good) files + OUT/manifest.json.

The corpus is meant to be ingested AFTER a good base city generated with the same
--start/--months/--scale/--seed (the registry depends on seed and scale): its rows use
real facility ids, townships and communities of that registry. To leave the base data
alone, activity rows are dated in the month after the base range (`corpus_month`) or the
year after it (`corpus_year`), their identities (encounter_id …) never repeat base ones or
each other, and the only accepted reference file (facilities) is the full base registry.

manifest.json = {"base": {start, months, scale, seed}, "corpus_month", "corpus_year",
"files": [{file, feed, case, expected_verdict, reason_contains, quarantined_rows, rows, note}]}
- file: path relative to OUT (posix); feed: the feed ingest should find (null when none)
- expected_verdict: accepted | accepted_with_quarantine | rejected
- reason_contains: a phrase of the plain-words reasons (docs/architecture.md) found in the
  file's verdict reasons (rejected) or in the quarantined rows' reasons; null when accepted
- quarantined_rows: rows expected in quarantine (0 for accepted, null for rejected)
- rows: data rows in the file (non-blank), when meaningful
- row_reason_contains (rejected registry files only): a phrase of the first row reasons
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from medcom.generate import activity as act
from medcom.generate.city import build_city
from medcom.generate.encounters import EncounterModel, month_start
from medcom.generate.feeds import month_list
from medcom.generate.rng import rng_for
from medcom.generate.writers import Progress, Style, _csv_bytes, prepare, to_arrow, write_feed

COUNTY = "411024"  # insured county of the corpus encounters (plain UTF-8 in the base city)
INJECTION = '=HYPERLINK("http://x","click")'


class Corpus:
    def __init__(self, out: Path, progress: Progress) -> None:
        self.out = out
        self.progress = progress
        self.entries: list[dict] = []

    def add(
        self,
        rel: str,
        feed: str | None,
        case: str,
        verdict: str,
        reason: str | None,
        quarantined: int | None = None,
        rows: int | None = None,
        note: str = "",
        row_reason: str | None = None,
    ) -> Path:
        if verdict == "accepted":
            quarantined = 0
        self.entries.append(
            {
                "file": rel,
                "feed": feed,
                "case": case,
                "expected_verdict": verdict,
                "reason_contains": reason,
                "quarantined_rows": quarantined,
                "rows": rows,
                "note": note,
            }
        )
        if row_reason:
            self.entries[-1]["row_reason_contains"] = row_reason
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def write_table(self, rel, feed, table, style, **kw) -> None:
        path = self.add(rel, feed, rows=table.num_rows, **kw)
        write_feed(path, table, feed, style, self.progress)

    def write_bytes(self, rel, feed, data: bytes, **kw) -> None:
        path = self.add(rel, feed, **kw)
        path.write_bytes(data)
        self.progress.file_done(path, kw.get("rows") or 0)


def _set(table: pa.Table, col: str, rows: list[int], value) -> pa.Table:
    vals = table[col].to_pylist()
    for r in rows:
        vals[r] = value
    return table.set_column(table.column_names.index(col), col, pa.array(vals, table.schema.field(col).type))


def _zip_not_workbook() -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("readme.txt", date_time=(2020, 1, 1, 0, 0, 0))
        z.writestr(info, "this archive is not a workbook\n")
    return buf.getvalue()


def _csv_text(table: pa.Table, feed: str, style: Style = Style()) -> str:
    return _csv_bytes(prepare(table, feed, style), header=True).decode("utf-8")


def write_corpus(out: Path, *, start: str, months: int, scale: float, seed: int, quiet: bool = False) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    progress = Progress(quiet)
    base_months = month_list(start, months)
    cm = month_list(start, months + 1)[-1]  # month after the base range
    cy = int(base_months[-1][:4]) + 1  # year after the base range
    today = dt.datetime.now(dt.UTC).date()  # (the day of ingest will not be earlier)
    if act.month_end(cm) >= today - dt.timedelta(days=1) or cy > today.year:
        # the base range reaches today: use the month / year before it instead
        cm = month_list(start, 1)[0]
        cm = (month_start(cm, -1)).isoformat()[:7]
        cy = int(base_months[0][:4]) - 1
    progress.note(
        f"bad corpus for base {base_months[0]}…{base_months[-1]} scale {scale} seed {seed}; "
        f"corpus month {cm}, year {cy}"
    )
    city = build_city(seed, scale)
    model = EncounterModel(city, seed, scale)
    rng = rng_for(seed, "corpus")
    pool = next(model.month_chunks(COUNTY, cm))
    # only outpatient/emergency rows at registry facilities: the easiest rows to reason about
    fac_ids = set(city.facilities.facility_id)
    keep = pc.and_(
        pc.not_equal(pool["encounter_type"], "inpatient"),
        pc.is_in(pool["facility_id"], value_set=pa.array(sorted(fac_ids))),
    )
    pool = pool.filter(keep)
    used = [0]

    def enc(n: int, tag: str) -> pa.Table:
        """n valid encounter rows of the corpus month with unique ids BAD<tag>…"""
        t = pool.slice(used[0], n)
        used[0] += n
        ids = [f"BAD{tag}{i:06d}" for i in range(n)]
        return t.set_column(0, "encounter_id", pa.array(ids, pa.string()))

    c = Corpus(out, progress)
    E = "encounters"
    en = Style()

    # -- accepted, tricky but good --------------------------------------------------------
    c.write_table(
        f"{E}/{E}_{cm}_{COUNTY}_utf8.csv",
        E,
        enc(20, "GBK"),
        Style(encoding="gb18030", headers="zh", labels="zh"),
        case="gbk_named_utf8",
        verdict="accepted",
        reason=None,
        note="GB18030 bytes with Chinese headers/labels; name says utf8",
    )
    fac = city.facilities.copy()
    i_inj = int(fac.index[fac.tier == "clinic"][0])
    fac.loc[i_inj, "name"] = INJECTION
    c.write_table(
        "facilities/facilities_injection.csv",
        "facilities",
        to_arrow(fac, "facilities"),
        en,
        case="csv_injection_text",
        verdict="accepted",
        reason=None,
        note=f"full base registry; facility {fac.facility_id[i_inj]} is named {INJECTION} (stored as text)",
    )
    pop = act.population(city, [cy], scale, seed)
    counties = list(city.counties)
    pop_a = pop[pop.township_code.str[:6] == counties[2]]
    c.write_table(
        f"population/population_{cy}_merged_title.xlsx",
        "population",
        to_arrow(pop_a, "population"),
        Style(fmt="xlsx", headers="zh", title_rows=(f"{cy}年分乡镇人口", "单位：人")),
        case="xlsx_merged_title_cells",
        verdict="accepted",
        reason=None,
        note="two merged title rows above the header row are skipped",
    )

    # -- rejected: unreadable / structure ------------------------------------------------------
    text = _csv_text(enc(12, "TRN"), E)
    cut = text.rfind("\n", 0, len(text) - 2)
    truncated = text[: cut + 1] + text[cut + 1 :][:25]  # last row cut inside a quoted field, no newline
    c.write_bytes(
        f"{E}_{cm}_{COUNTY}_truncated.csv",
        E,
        truncated.encode("utf-8"),
        case="truncated_csv",
        verdict="rejected",
        reason="file is truncated",
        rows=12,
        note="last row cut off mid-field",
    )
    c.write_bytes(f"{E}_{cm}_{COUNTY}_empty.csv", E, b"", case="empty_file", verdict="rejected", reason="file is empty")
    header_only = _csv_text(enc(1, "HDR"), E).splitlines()[0] + "\n"
    c.write_bytes(
        f"{E}_{cm}_{COUNTY}_header_only.csv",
        E,
        header_only.encode("utf-8"),
        case="no_data_rows",
        verdict="rejected",
        reason="no data rows",
        rows=0,
    )
    blob = bytes(rng.integers(0, 256, 4096, dtype="uint8"))
    c.write_bytes(
        f"{E}_{cm}_{COUNTY}_export.csv",
        E,
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + blob,
        case="binary_renamed_csv",
        verdict="rejected",
        reason="not a readable table",
    )
    c.write_bytes(
        f"{E}_{cm}_{COUNTY}_broken.xlsx",
        E,
        _zip_not_workbook(),
        case="corrupt_xlsx",
        verdict="rejected",
        reason="not a readable table",
        note="a complete ZIP archive (readme.txt only), not a workbook",
    )
    t = enc(10, "MIS").drop_columns(["fund_paid"])
    c.write_table(
        f"{E}/{E}_{cm}_{COUNTY}_missing_fund.csv",
        E,
        t,
        en,
        case="missing_required_column",
        verdict="rejected",
        reason="missing required column(s): fund_paid",
    )
    t = _csv_text(enc(10, "REN"), E, Style(headers="zh")).replace("总费用", "总金额", 1)
    c.write_bytes(
        f"{E}/{E}_{cm}_{COUNTY}_renamed.csv",
        E,
        t.encode("utf-8"),
        case="renamed_column_not_alias",
        verdict="rejected",
        reason="missing required column(s): total_cost",
        rows=10,
        note="总金额 is not an alias of total_cost",
    )
    t = enc(10, "DUP")
    dup = t.append_column("settlement_no", t["encounter_id"])
    text = _csv_text(t, E, Style(headers="zh"))
    lines = text.splitlines()
    ids = dup["settlement_no"].to_pylist()
    lines[0] += ',"结算流水号"'
    lines[1:] = [f'{ln},"{ids[i]}"' for i, ln in enumerate(lines[1:])]
    c.write_bytes(
        f"{E}/{E}_{cm}_{COUNTY}_two_id_headers.csv",
        E,
        ("\n".join(lines) + "\n").encode("utf-8"),
        case="duplicate_headers_same_column",
        verdict="rejected",
        reason="two headers map to the same column",
        rows=10,
        note="就诊流水号 and 结算流水号 → encounter_id",
    )
    c.write_bytes(
        "data_export_2022.csv",
        None,
        _csv_text(enc(5, "UNK"), E).encode("utf-8"),
        case="feed_unknown",
        verdict="rejected",
        reason="cannot tell which feed this file belongs to",
        rows=5,
        note="directly in the inbox, name does not start with a feed",
    )
    t = enc(60, "MNY")
    bad = list(range(0, 60, 6))  # 10 of 60 rows
    tc = t["total_cost"].to_pylist()
    t = _set(t, "fund_paid", bad, None)
    t = t.set_column(
        t.column_names.index("fund_paid"),
        "fund_paid",
        pa.array([tc[i] + 5000 if i in bad else v for i, v in enumerate(t["fund_paid"].to_pylist())], pa.int64()),
    )
    t = _set(t, "scheme", bad, "resident")
    c.write_table(
        f"{E}/{E}_{cm}_{COUNTY}_many_invalid.csv",
        E,
        t,
        en,
        case="too_many_invalid_rows",
        verdict="rejected",
        reason="too many invalid rows",
        note="10 of 60 rows have fund_paid > total_cost",
    )

    # -- reference feeds: any invalid row rejects the file ------------------------------------
    mem = city.memberships.copy()
    row = mem[mem.valid_to.isna()].iloc[-1].to_dict()
    other = city.communities[
        (city.communities.county_code == city.facilities.set_index("facility_id").county_code[row["facility_id"]])
    ].community_id.tolist()
    row2 = dict(
        row,
        community_id=other[0] if other[0] != row["community_id"] else other[-1],
        valid_from=row["valid_from"] + dt.timedelta(days=200),
    )
    mem = pd.concat([mem, pd.DataFrame([row2])], ignore_index=True)
    c.write_table(
        "memberships/memberships_overlap.csv",
        "memberships",
        to_arrow(mem, "memberships"),
        en,
        case="overlapping_memberships",
        verdict="rejected",
        reason="registry file has invalid rows",
        row_reason="overlapping validity with another row for the same facility",
        note=f"facility {row['facility_id']} has two open rows that share days (overlapping validity)",
    )
    cat = city.catchments.copy()
    own = city.communities[city.communities.county_code == COUNTY].community_id.iloc[0]
    cat = pd.concat(
        [
            cat,
            pd.DataFrame(
                [
                    {
                        "township_code": f"{COUNTY}999",
                        "community_id": own,
                        "valid_from": dt.date(2021, 1, 1),
                        "valid_to": None,
                    }
                ]
            ),
        ],
        ignore_index=True,
    )
    c.write_table(
        "catchments/catchments_unknown_township.csv",
        "catchments",
        to_arrow(cat, "catchments"),
        en,
        case="unknown_township_registry",
        verdict="rejected",
        reason="registry file has invalid rows",
        row_reason="is not a township of the city",
        note=f"township {COUNTY}999 is not a township of the city",
    )

    # -- activity feeds: a few invalid rows go to quarantine -----------------------------------
    def quarantine_case(case: str, tag: str, reason: str, mutate, n_bad: int, n: int = 20, note: str = ""):
        t = mutate(enc(n, tag))
        c.write_table(
            f"{E}/{E}_{cm}_{COUNTY}_{case}.csv",
            E,
            t,
            en,
            case=case,
            verdict="accepted_with_quarantine",
            reason=reason,
            quarantined=n_bad,
            note=note,
        )

    def dup_rows(t):
        return pa.concat_tables([t, t.slice(3, 2)])

    quarantine_case(
        "duplicate_identity",
        "DID",
        "duplicate of an earlier row in this run (same identity)",
        dup_rows,
        2,
        note="rows 21-22 repeat rows 4-5",
    )
    quarantine_case(
        "unknown_facility",
        "UFA",
        "facility_county_code is inside the city but the facility is not in the registry",
        lambda t: _set(_set(t, "facility_id", [2], f"H{COUNTY}999"), "facility_county_code", [2], COUNTY),
        1,
    )
    contra = next(x for x in city.counties if x != COUNTY)
    quarantine_case(
        "county_contradicts_registry",
        "CCR",
        "facility_county_code contradicts the facility registry",
        lambda t: _set(_set(t, "facility_id", [1], f"H{COUNTY}001"), "facility_county_code", [1], contra),
        1,
    )

    def fund_gt_total(t):
        tc = t["total_cost"].to_pylist()
        t = _set(t, "scheme", [5], "resident")
        return _set(t, "fund_paid", [5], tc[5] + 100)

    quarantine_case("fund_paid_gt_total", "FGT", "fund_paid is larger than total_cost", fund_gt_total, 1)

    def inpatient_no_discharge(t):
        return _set(_set(t, "encounter_type", [7], "inpatient"), "discharge_date", [7], None)

    quarantine_case(
        "inpatient_without_discharge", "IND", "inpatient encounter needs a discharge_date", inpatient_no_discharge, 1
    )
    quarantine_case(
        "future_date",
        "FUT",
        "date is after the day of ingest",
        lambda t: _set(t, "visit_date", [4], dt.date(2099, 1, 15)),
        1,
    )
    quarantine_case(
        "date_before_2015",
        "OLD",
        "date is before 2015-01-01",
        lambda t: _set(t, "visit_date", [4], dt.date(2014, 12, 31)),
        1,
    )

    def self_pay_fund(t):
        return _set(_set(t, "scheme", [6], "self_pay"), "fund_paid", [6], 100)

    quarantine_case("self_pay_with_fund", "SPF", "self-pay encounter with fund_paid > 0", self_pay_fund, 1)
    quarantine_case(
        "bad_enum_code",
        "ENM",
        "is not an allowed code",
        lambda t: _set(t, "encounter_type", [8], "门急诊"),
        1,
        note="门急诊 is not a label of encounter_type",
    )

    # unknown facility in phs_services (facility ref) and unknown township in population (activity)
    services, _ = act.phs_month(city, cm, scale, seed)
    services = services.head(20).copy()
    services.loc[3, "facility_id"] = "V999999999001"
    c.write_table(
        f"phs_services/phs_services_{cm}_unknown_facility.csv",
        "phs_services",
        to_arrow(services, "phs_services"),
        en,
        case="unknown_facility_ref",
        verdict="accepted_with_quarantine",
        reason="is not in the facility registry",
        quarantined=1,
    )
    pop_b = pop[pop.township_code.str[:6] == counties[3]].copy()
    pop_b = pd.concat(
        [
            pop_b,
            pd.DataFrame(
                [{"township_code": f"{counties[3]}999", "year": cy, "residents": 1000, "insured_residents": 800}]
            ),
        ],
        ignore_index=True,
    )
    c.write_table(
        f"population/population_{cy}_unknown_township.csv",
        "population",
        to_arrow(pop_b, "population"),
        en,
        case="unknown_township_activity",
        verdict="accepted_with_quarantine",
        reason="is not a township of the city",
        quarantined=1,
    )

    manifest = {
        "base": {"start": base_months[0], "months": months, "scale": scale, "seed": seed},
        "corpus_month": cm,
        "corpus_year": cy,
        "note": "ingest a base city generated with the same start/months/scale/seed first; "
        "each file's identities are unique across the corpus and the base",
        "files": c.entries,
    }
    (out / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8"
    )
    progress.note(f"bad corpus: {len(c.entries)} files + manifest.json")
    return manifest
