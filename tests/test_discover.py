from pathlib import Path

from ingest.discover import UNKNOWN_FEED, discover
from medcom.contract import load_contract


def _touch(p: Path) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("x\n", encoding="utf-8")
    return p


def test_discover_inbox(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    _touch(inbox / "encounters" / "b.csv")
    _touch(inbox / "encounters" / "a.xlsx")
    _touch(inbox / "facilities_2020.parquet")
    _touch(inbox / "regions.csv")
    _touch(inbox / "phs_services_2020-10_411025.CSV")
    _touch(inbox / "mystery.csv")
    _touch(inbox / "manifest.json")
    _touch(inbox / "README")
    _touch(inbox / "~$encounters.xlsx")
    _touch(inbox / "nofeed" / "x.csv")
    _touch(inbox / "nofeed" / "deeper" / "encounters_1.csv")
    _touch(inbox / "workforce" / "2020-10" / "wf.csv")
    _touch(inbox / "workforce" / ".hidden" / "wf.csv")
    found = discover([inbox])
    ok = [(f.feed, f.path.relative_to(inbox).as_posix()) for f in found if f.ok]
    assert ok == [
        ("regions", "regions.csv"),
        ("facilities", "facilities_2020.parquet"),
        ("encounters", "encounters/a.xlsx"),
        ("encounters", "encounters/b.csv"),
        ("phs_services", "phs_services_2020-10_411025.CSV"),
        ("workforce", "workforce/2020-10/wf.csv"),
    ]
    unknown = sorted(f.path.relative_to(inbox).as_posix() for f in found if not f.ok and not f.skipped)
    assert unknown == ["mystery.csv", "nofeed/x.csv"]
    assert all(f.reason == UNKNOWN_FEED for f in found if not f.ok and not f.skipped)
    skipped = sorted(f.path.name for f in found if f.skipped)
    assert skipped == ["README", "deeper", "manifest.json", "wf.csv", "~$encounters.xlsx"]


def test_order_follows_contract(tmp_path: Path) -> None:
    names = ["targets", "memberships", "regions", "catchments", "encounters", "communities", "facilities"]
    for n in names:
        _touch(tmp_path / f"{n}.csv")
    got = [f.feed for f in discover([tmp_path])]
    order = load_contract().load_order()
    assert got == sorted(names, key=order.index)
    assert got[:3] == ["regions", "facilities", "communities"]
    assert got[-1] == "encounters"


def test_explicit_files(tmp_path: Path) -> None:
    a = _touch(tmp_path / "workforce" / "march.csv")
    b = _touch(tmp_path / "penalties-2021.xlsx")
    c = _touch(tmp_path / "other" / "x.parquet")
    found = {f.path: f for f in discover([a, b, c, tmp_path / "missing.csv"])}
    assert found[a].feed == "workforce"
    assert found[b].feed == "penalties"
    assert found[c].feed is None and found[c].reason == UNKNOWN_FEED
    assert found[tmp_path / "missing.csv"].reason == "file not found"
