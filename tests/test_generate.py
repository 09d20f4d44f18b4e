"""The synthetic generator (`medcom generate`): real files, small scale."""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest

from medcom.contract import load_contract
from medcom.generate import generate
from medcom.generate.city import build_city

SMALL = {"start": "2020-01", "months": 3, "scale": 0.01, "seed": 42}
ALL_FEEDS = set(load_contract().feeds)

REASON_PHRASES = [  # docs/architecture.md, "Plain-words reasons"
    "cannot tell which feed this file belongs to",
    "file is empty",
    "no data rows",
    "not a readable table",
    "file is truncated",
    "cannot decode the text",
    "missing required column(s)",
    "two headers map to the same column",
    "too many invalid rows",
    "registry file has invalid rows",
    "is not an allowed code",
    "is not a valid date",
    "date is after the day of ingest",
    "date is before 2015-01-01",
    "is not in the facility registry",
    "is not a township of the city",
    "facility_county_code contradicts the facility registry",
    "facility_county_code is inside the city but the facility is not in the registry",
    "fund_paid is larger than total_cost",
    "inpatient encounter needs a discharge_date",
    "self-pay encounter with fund_paid > 0",
    "overlapping validity",
    "duplicate of an earlier row in this run (same identity)",
    "value is not unique in the file",
]


def _tree_hash(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def feed_of(root: Path, path: Path) -> str | None:
    rel = path.relative_to(root)
    if len(rel.parts) > 1 and rel.parts[0] in ALL_FEEDS:
        return rel.parts[0]
    return load_contract().feed_for_filename(path.name)


def read_feed_file(path: Path, feed: str) -> pd.DataFrame:
    """Any generated file → DataFrame of strings with canonical column names."""
    c = load_contract()
    if path.suffix == ".parquet":
        df = pq.read_table(path).to_pandas().astype("string")
    elif path.suffix == ".xlsx":
        ws = openpyxl.load_workbook(path, read_only=True).worksheets[0]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        req = c.feeds[feed].required_columns
        h = next(
            i
            for i, r in enumerate(rows)
            if sum(c.match_header(str(v), feed) in req for v in r if v is not None) * 2 >= len(req)
        )
        df = pd.DataFrame(rows[h + 1 :], columns=[str(v) for v in rows[h]]).astype("string")
    else:
        raw = path.read_bytes()
        for enc in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    df.columns = [c.match_header(str(x), feed) or f"?{x}" for x in df.columns]
    return df


@pytest.fixture(scope="module")
def city_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("city")
    generate(out, **SMALL, bad_corpus=False, quiet=True)
    return out


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    generate(out, **SMALL, bad_corpus=True, quiet=True)
    return out


def test_deterministic(city_dir, tmp_path):
    generate(tmp_path, **SMALL, bad_corpus=False, quiet=True)
    assert _tree_hash(tmp_path) == _tree_hash(city_dir)


def test_small_run_is_small(city_dir):
    files = [p for p in city_dir.rglob("*") if p.is_file()]
    rows = sum(len(read_feed_file(p, feed_of(city_dir, p))) for p in files)
    assert rows < 100_000


def test_all_feeds_written_and_headers_recognised(city_dir):
    seen = set()
    for p in city_dir.rglob("*"):
        if not p.is_file():
            continue
        feed = feed_of(city_dir, p)
        assert feed is not None, p
        seen.add(feed)
        df = read_feed_file(p, feed)
        assert len(df) > 0, p
        unknown = [c for c in df.columns if c.startswith("?")]
        assert not unknown, (p, unknown)
        assert set(load_contract().feeds[feed].required_columns) <= set(df.columns), p
    assert seen == ALL_FEEDS


def test_mixed_formats_and_encodings(city_dir):
    files = [p for p in city_dir.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} == {".csv", ".xlsx", ".parquet"}
    csvs = [p.read_bytes() for p in files if p.suffix == ".csv"]
    assert any(b.startswith(b"\xef\xbb\xbf") for b in csvs)  # UTF-8 with BOM

    def is_gb(b: bytes) -> bool:
        try:
            b.decode("utf-8")
            return False
        except UnicodeDecodeError:
            return "险种".encode("gb18030") in b or "机构编码".encode("gb18030") in b

    assert any(is_gb(b) for b in csvs)  # GB18030 with Chinese headers
    assert any(b.startswith(b'"encounter_id"') for b in csvs)  # English headers
    enc = {p.name for p in (city_dir / "encounters").iterdir()}
    assert "encounters_2020-10_411025.csv" not in enc and "encounters_2020-01_411025.csv" in enc
    # XLSX with title rows above the header
    ws = openpyxl.load_workbook(city_dir / "facilities" / "facilities_registry.xlsx", read_only=True).worksheets[0]
    first = next(ws.iter_rows(values_only=True))
    assert first[0] and "机构编码" not in first
    # several date formats
    text = (city_dir / "encounters" / "encounters_2020-02_411003.csv").read_text("utf-8")
    assert re.search(r'"2020/02/\d\d"', text)
    text = (city_dir / "encounters" / "encounters_2020-02_411082.csv").read_text("utf-8-sig")
    assert re.search(r'"202002\d\d"', text)


def test_encounter_values(city_dir):
    months = {"2020-01", "2020-02", "2020-03"}
    for p in sorted((city_dir / "encounters").iterdir()):
        df = read_feed_file(p, "encounters")
        ym, county = re.match(r"encounters_(\d{4}-\d\d)_(\d{6})\.", p.name).groups()
        assert ym in months
        assert (df.insured_township_code.str[:6] == county).all()
        assert df.encounter_id.is_unique
        # money at most 2 decimals, fund_paid ≤ total_cost, self-pay 0
        assert df.total_cost.str.fullmatch(r"\d+(\.\d{1,2})?").all()
        tc, fp = df.total_cost.astype(float), df.fund_paid.astype(float)
        assert (fp <= tc).all()
        typ = df.encounter_type.map(
            lambda v: {"门诊": "outpatient", "急诊": "emergency", "住院": "inpatient"}.get(v, v)
        )
        sch = df.scheme.map(lambda v: {"城乡居民": "resident", "职工": "employee", "自费": "self_pay"}.get(v, v))
        assert (fp[sch == "self_pay"] == 0).all()

        # month of the encounter = visit month (discharge month for inpatients)
        def ym_of(s):
            s = s.str.replace("/", "-")
            return s.where(s.str.contains("-"), s.str[:4] + "-" + s.str[4:6]).str[:7]

        inp = typ == "inpatient"
        assert (ym_of(df.discharge_date[inp]) == ym).all()
        assert (ym_of(df.visit_date[~inp]) == ym).all()
        assert (df.discharge_date[~inp].fillna("") == "").all()


def test_patient_ids_mixed(city_dir):
    df = read_feed_file(city_dir / "encounters" / "encounters_2020-01_411024.csv", "encounters")
    ids = df.patient_id
    assert ids.str.fullmatch(r"\d{17}[\dX]").mean() > 0.5
    other = ids[~ids.str.fullmatch(r"\d{17}[\dX]|\d{15}")]
    assert len(other) > 0 and other.str.startswith("0").any()  # leading zeros kept


def test_out_of_city_care_and_outside_insured(city_dir):
    df = read_feed_file(city_dir / "encounters" / "encounters_2020-01_411024.csv", "encounters")
    reg = set(build_city(SMALL["seed"], SMALL["scale"]).facilities.facility_id)
    outside = df[~df.facility_id.isin(reg)]
    assert len(outside) > 0
    assert not outside.facility_county_code.isin([c for c in build_city(42, 0.01).counties]).any()
    assert any(p.name.endswith("_410102.csv") for p in (city_dir / "encounters").iterdir())


def test_volumes_scale_linearly(tmp_path):
    a = generate(tmp_path / "a", start="2020-06", months=1, scale=0.01, seed=7, quiet=True)["encounters"]
    b = generate(tmp_path / "b", start="2020-06", months=1, scale=0.03, seed=7, quiet=True)["encounters"]
    assert 2.6 < b / a < 3.4


def test_registry_consistency():
    city = build_city(42, 1.0)
    f = city.facilities
    assert 3000 <= len(f) <= 4000 and (f.tier == "village").sum() >= 2000
    assert f.facility_id.is_unique
    assert set(f.county_code) <= set(city.counties)
    tw = f.township_code.dropna()
    assert (tw.str[:6] == f.county_code[tw.index]).all()
    v = f[f.tier == "village"]
    assert v.parent_facility_id.str.startswith("W").all() and v.township_code.isna().mean() > 0.5
    c = city.communities
    assert 8 <= len(c) <= 15 and "411002" not in set(c.county_code)
    lead = f.set_index("facility_id").loc[c.lead_facility_id]
    assert (lead.tier.to_numpy() == "county").all() and (lead.county_code.to_numpy() == c.county_code.to_numpy()).all()
    assert c.sort_values("established_on").county_code.iloc[0] == "411025"
    comm_county = c.set_index("community_id").county_code
    m = city.memberships
    assert (
        f.set_index("facility_id").county_code[m.facility_id].to_numpy() == comm_county[m.community_id].to_numpy()
    ).all()
    k = city.catchments
    assert (k.township_code.str[:6].to_numpy() == comm_county[k.community_id].to_numpy()).all()
    for df, key in ((m, "facility_id"), (k, "township_code")):
        for _, g in df.groupby(key):
            g = g.sort_values("valid_from")
            ends = g.valid_to.tolist()
            starts = g.valid_from.tolist()
            for e, s in zip(ends[:-1], starts[1:], strict=True):
                assert e is not None and e < s  # no overlap
    movers = m.groupby("facility_id").size()
    assert (movers > 1).any()  # a facility moves community mid-period
    assert (k.groupby("township_code").size() > 1).any()


def test_budgets_balance_and_execution(city_dir):
    df = read_feed_file(city_dir / "fund_budgets" / "fund_budgets_2020.xlsx", "fund_budgets").astype(
        float, errors="ignore"
    )
    num = df[["pooled_fund", "risk_reserve", "quality_reserve", "critical_illness", "budget"]].astype(float)
    assert (
        (num.pooled_fund - num.risk_reserve - num.quality_reserve - num.critical_illness - num.budget).abs() <= 1
    ).all()


def test_corpus_manifest(corpus_dir):
    m = json.loads((corpus_dir / "manifest.json").read_text("utf-8"))
    assert m["base"] == SMALL
    listed = {e["file"] for e in m["files"]}
    on_disk = {
        str(p.relative_to(corpus_dir).as_posix())
        for p in corpus_dir.rglob("*")
        if p.is_file() and p.name != "manifest.json"
    }
    assert listed == on_disk
    cases = {e["case"] for e in m["files"]}
    for must in (
        "gbk_named_utf8",
        "truncated_csv",
        "missing_required_column",
        "renamed_column_not_alias",
        "duplicate_headers_same_column",
        "duplicate_identity",
        "unknown_facility",
        "unknown_township_registry",
        "unknown_township_activity",
        "county_contradicts_registry",
        "fund_paid_gt_total",
        "inpatient_without_discharge",
        "future_date",
        "date_before_2015",
        "overlapping_memberships",
        "xlsx_merged_title_cells",
        "empty_file",
        "binary_renamed_csv",
        "csv_injection_text",
        "too_many_invalid_rows",
        "feed_unknown",
    ):
        assert must in cases
    for e in m["files"]:
        assert e["expected_verdict"] in ("accepted", "accepted_with_quarantine", "rejected")
        if e["expected_verdict"] != "accepted":
            assert any(ph in e["reason_contains"] or e["reason_contains"] in ph for ph in REASON_PHRASES), e
        if e["expected_verdict"] == "accepted_with_quarantine":
            assert e["quarantined_rows"] >= 1
        if e["feed"] is None:
            assert feed_of(corpus_dir, corpus_dir / e["file"]) is None
        else:
            assert feed_of(corpus_dir, corpus_dir / e["file"]) == e["feed"]


def test_corpus_uses_base_registry(corpus_dir):
    reg = set(build_city(SMALL["seed"], SMALL["scale"]).facilities.facility_id)
    df = read_feed_file(corpus_dir / "encounters" / "encounters_2020-04_411024_utf8.csv", "encounters")
    assert df.facility_id.isin(reg).all()
    assert (corpus_dir / "encounters_2020-04_411024_empty.csv").stat().st_size == 0


# ----------------------------------------------------------------------------- a province
GOLDEN = Path(__file__).parent / "data" / "generate_small_xuchang.sha256"


def test_cities_1_is_the_xuchang_of_before(city_dir, tmp_path):
    """`--cities 1` (the default) writes, byte for byte, what the generator wrote before
    provinces existed (hashes recorded from that version for SMALL)."""
    want = dict(line.split("  ", 1)[::-1] for line in GOLDEN.read_text().splitlines())
    assert _tree_hash(city_dir) == want
    generate(tmp_path, **SMALL, quiet=True, cities=1)
    assert _tree_hash(tmp_path) == want


@pytest.fixture(scope="module")
def province_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("province")
    generate(out, start="2020-01", months=2, scale=0.01, seed=42, quiet=True, cities=3)
    return out


def _feed_rows(root: Path, feed: str) -> pd.DataFrame:
    files = sorted(p for p in (root / feed).rglob("*") if p.is_file())
    return pd.concat([read_feed_file(p, feed).assign(_file=str(p.relative_to(root))) for p in files], ignore_index=True)


def test_province_registry_real_codes(province_dir):
    from medcom.generate.geography import henan_cities

    reg = _feed_rows(province_dir, "regions")
    levels = reg.groupby("level").region_code.apply(sorted).to_dict()
    assert levels["province"] == ["410000"]
    assert levels["city"] == ["410400", "411000", "411100"]  # 许昌市, then its neighbours 漯河市, 平顶山市
    cities = reg[reg.level == "city"]
    assert set(cities.parent_code) == {"410000"}
    henan = henan_cities()
    counties = reg[reg.level == "county"]
    for r in counties.itertuples():
        assert r.region_code[:4] == r.parent_code[:4]
        if r.parent_code != "411000":
            assert henan[r.parent_code][1][r.region_code] == r.name  # real GB/T 2260 code and name
    twp = reg[reg.level == "township"]
    assert (twp.region_code.str[:6] == twp.parent_code).all()
    assert set(twp.parent_code) == set(counties.region_code)
    assert reg.region_code.is_unique
    # one regions file per city plus the province's own
    assert sorted(reg._file.unique()) == [f"regions/{c}/regions.csv" for c in ("410000", "410400", "411000", "411100")]


def test_province_cities_have_their_own_registry(province_dir):
    fac = _feed_rows(province_dir, "facilities")
    assert fac.facility_id.is_unique
    city_of_file = fac._file.str.split("/").str[1]
    assert (fac.county_code.str[:4] == city_of_file.str[:4]).all()
    for city in ("411000", "411100", "410400"):
        mine = fac[city_of_file == city]
        assert {"city", "county", "township", "village"} <= set(mine.tier.map(_tier_code))
    comm = _feed_rows(province_dir, "communities")
    assert comm.community_id.is_unique
    assert set(comm.county_code.str[:4]) == {"4110", "4111", "4104"}


def _tier_code(label: str) -> str:
    return load_contract().enum_lookup("tier").get(label, label)


def test_province_care_crosses_city_borders(province_dir):
    fac = _feed_rows(province_dir, "facilities")
    city_of = dict(zip(fac.facility_id, fac.county_code.str[:4], strict=True))
    enc = _feed_rows(province_dir, "encounters")
    insured_city = enc.insured_township_code.str[:4]
    treated_city = enc.facility_id.map(city_of)
    crossing = enc[treated_city.notna() & (treated_city != insured_city) & insured_city.isin(["4110", "4111", "4104"])]
    assert len(crossing) > 0
    assert crossing.groupby(insured_city[crossing.index]).size().size == 3  # every city's insured cross
    # out-of-province: facilities not in the registry are outside every city of the province
    unknown = enc[treated_city.isna() & (enc.facility_county_code != "")]
    assert len(unknown) and not unknown.facility_county_code.str[:4].isin(["4110", "4111", "4104"]).any()
    # people insured outside the province, never in one of its cities
    outside = insured_city[~insured_city.isin(["4110", "4111", "4104"])]
    assert len(outside) and not outside.str.startswith("41").any()
    # identities unique across the province (insured county, encounter_id)
    assert not enc.duplicated(["encounter_id"]).any()


def test_province_own_rows_and_single_weights(province_dir):
    assert sorted(p.name for p in (province_dir / "phs_weights").iterdir()) == ["phs_weights_2020.csv"]
    for feed, col in (
        ("complaints", "county_code"),
        ("supervision_agencies", "county_code"),
        ("reported_indicators", "region_code"),
    ):
        rows = _feed_rows(province_dir, feed)
        assert set(rows[rows._file.str.contains("/410000/")][col]) == {"410000"}
        if feed != "complaints":  # (a city's own complaints are a Poisson draw: none in some months)
            assert {"411000", "411100", "410400"} <= set(rows[col])


def test_province_deterministic_and_cli_bounds(province_dir, tmp_path):
    generate(tmp_path, start="2020-01", months=2, scale=0.01, seed=42, quiet=True, cities=3)
    assert _tree_hash(tmp_path) == _tree_hash(province_dir)
    from medcom.errors import UsageError

    with pytest.raises(UsageError, match="--cities must be between 1 and 17"):
        generate(tmp_path / "x", **SMALL, quiet=True, cities=18)


def test_city_with_no_penalty_is_written_without_a_penalties_file(tmp_path):
    """A small city with no penalty case in the months asked for (the second city of this
    one-month province) gets no penalties file, and the rest of the province is written
    (bench_province crashed here: 'DataFrame' object has no attribute 'decided_date')."""
    from medcom.generate import activity
    from medcom.generate.geography import province_specs

    generate(tmp_path, start="2020-01", months=1, scale=0.001, seed=42, quiet=True, cities=2)
    cities = {s.code for s in province_specs(2)}
    assert {p.name for p in (tmp_path / "encounters").iterdir()} == cities
    assert {p.name for p in (tmp_path / "complaints").iterdir()} == cities
    with_penalties = {p.parent.name for p in (tmp_path / "penalties").rglob("*.csv")}
    assert with_penalties and with_penalties < cities
    frame = activity.penalties(build_city(42, 0.001), [], 0.001, 42)
    assert len(frame) == 0 and list(frame.columns) == list(activity.PENALTY_COLUMNS)


def test_every_province_city_moves_a_township_after_its_communities_exist():
    """A township's move to the next community is dated after that county's communities were
    established, in every city a province can have (with 4 cities, 郑州市's memberships and
    catchments had valid_to before valid_from and the whole registry was rejected)."""
    from medcom.generate.geography import province_specs

    specs = province_specs(17)
    for spec in specs:
        for county, _, moved_on in spec.moves:
            assert moved_on > spec.community_plan[county][1], (spec.code, county)
    city = build_city(42, 0.001, next(s for s in specs if s.code == "410100"))
    for frame in (city.memberships, city.catchments):
        ended = frame[frame.valid_to.notna()]
        assert len(ended) and (ended.valid_to >= ended.valid_from).all()
