"""`medcom status`: what is loaded, built and published — what a steward or analyst asks first.

Everything is read from the published snapshot (read-only, like every reader: the writer's
file is never opened, so status works while an ingest or build runs), the build history
(`MEDCOM_HOME/builds.jsonl`, warehouse/build_record.py) and, once sign-in exists, the user
store under `MEDCOM_HOME/access`. `collect()` returns a JSON-able dict (`--format json`);
`render_text(report, lang)` the compact zh/en text.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb

from medcom.settings import paths

ACCEPTED = ("accepted", "accepted_with_quarantine")
MAX_FILES_LISTED = 20  # files of the latest run listed by name (problems first)


# ---------------------------------------------------------------------------- helpers
def _size(p: Path) -> int:
    if p.is_file():
        return p.stat().st_size
    if p.is_dir():
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    return 0


def human_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    x = float(n)
    for u in ("B", "KB", "MB", "GB", "TB"):
        if x < 1024 or u == "TB":
            return f"{x:.0f} {u}" if u == "B" else f"{x:.1f} {u}"
        x /= 1024
    return f"{n} B"


def _month_add(ym: str, k: int) -> str:
    y, m = int(ym[:4]), int(ym[5:7])
    i = y * 12 + (m - 1) + k
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


def _months_between(a: str, b: str) -> int:
    return (int(b[:4]) * 12 + int(b[5:7])) - (int(a[:4]) * 12 + int(a[5:7]))


def _ranges(items: list[str], step) -> list[str]:
    """['2020-03', '2020-04', '2020-07'] → ['2020-03…2020-04', '2020-07']."""
    out: list[str] = []
    start = prev = None
    for x in items:
        if prev is not None and step(prev, 1) == x:
            prev = x
            continue
        if start is not None:
            out.append(start if start == prev else f"{start}…{prev}")
        start = prev = x
    if start is not None:
        out.append(start if start == prev else f"{start}…{prev}")
    return out


def _year_add(y: str, k: int) -> str:
    return str(int(y) + k)


def writer_running() -> int | None:
    """PID of the ingest or build writing the warehouse now, or None.

    The writer lock file holds the writer's pid while it is held (emptied on release); a pid
    whose process is gone (a killed run) does not count. The lock itself is never taken here."""
    try:
        text = paths().lock.read_text().strip()
    except OSError:
        return None
    if not text.isdigit():
        return None
    pid = int(text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


# ---------------------------------------------------------------------------- collect
def collect() -> dict:
    """Everything `medcom status` shows, as plain data."""
    import warehouse
    from warehouse import build_record

    p = paths()
    wal = p.warehouse.with_name(p.warehouse.name + ".wal")
    report: dict = {
        "medcom_home": str(p.home),
        "warehouse": {
            "path": str(p.warehouse),
            "exists": p.warehouse.exists(),
            "bytes": _size(p.warehouse) + _size(wal) if p.warehouse.exists() else None,
            "writer_running_pid": writer_running(),
        },
        "archive": {"path": str(p.archive), "files": 0, "bytes": 0},
        "published": None,
        "last_ingest": None,
        "ingested_files": 0,
        "coverage": {},
        "last_build": build_record.last(),
        "last_passed_build": build_record.last_passed(),
        "users": _users(p.home / "access"),
        "region_names": {},
        "next": None,
    }
    if p.archive.is_dir():
        files = [f for f in p.archive.rglob("*") if f.is_file()]
        report["archive"].update(files=len(files), bytes=sum(f.stat().st_size for f in files))
    snap = warehouse.current_snapshot()
    if snap is not None:
        name = snap.parent.name if snap.parent != p.published else snap.name
        report["published"] = {
            "snapshot": name,
            "path": str(snap),
            "published_at": dt.datetime.fromtimestamp(snap.stat().st_mtime, dt.UTC).isoformat(timespec="seconds"),
            "bytes": _size(snap),
            "has_marts": False,
            "from_build": None,
        }
        try:
            con = duckdb.connect(str(snap), read_only=True, config={"enable_external_access": False})
        except duckdb.Error as exc:
            report["published"]["error"] = f"cannot open the snapshot: {exc}"
        else:
            try:
                _from_snapshot(con, report)
            finally:
                con.close()
        for rec in reversed(build_record.history()):
            if rec.get("snapshot") == name:
                report["published"]["from_build"] = rec.get("started_at")
                break
    report["next"] = _next_step(report)
    return report


def _tables(con) -> set[str]:
    return {
        f"{s}.{t}"
        for s, t in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()
    }


def _from_snapshot(con, report: dict) -> None:
    from medcom.contract import load_contract

    tables = _tables(con)
    report["published"]["has_marts"] = "marts.kpi_values" in tables
    if "audit.ingest_batches" not in tables:
        return
    report["ingested_files"] = con.execute("SELECT count(*) FROM audit.ingest_batches").fetchone()[0]
    run = None
    if "audit.runs" in tables:
        run = con.execute(
            "SELECT run_id, started_at, finished_at, files FROM audit.runs "
            "WHERE finished_at IS NOT NULL ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
    if run is not None:
        rows = con.execute(
            "SELECT file_name, feed, verdict, rows_loaded, rows_quarantined, reasons FROM audit.ingest_batches "
            "WHERE run_id = ? ORDER BY CASE verdict WHEN 'rejected' THEN 0 WHEN 'accepted_with_quarantine' THEN 1 "
            "ELSE 2 END, batch_id",
            [run[0]],
        ).fetchall()
        verdicts: dict[str, int] = {}
        for r in rows:
            verdicts[r[2]] = verdicts.get(r[2], 0) + 1
        report["last_ingest"] = {
            "run_id": run[0],
            "started_at": run[1].isoformat(timespec="seconds") + "Z" if run[1] else None,
            "finished_at": run[2].isoformat(timespec="seconds") + "Z" if run[2] else None,
            "files": len(rows),
            "verdicts": verdicts,
            "rows_loaded": sum(r[3] or 0 for r in rows),
            "rows_quarantined": sum(r[4] or 0 for r in rows),
            "file_list": [
                {
                    "file": r[0],
                    "feed": r[1],
                    "verdict": r[2],
                    "rows_loaded": r[3],
                    "rows_quarantined": r[4],
                    "reasons": r[5],
                }
                for r in rows
            ],
        }
    contract = load_contract()
    community_county: dict[str, str] = {}
    if "raw.communities" in tables:
        community_county = dict(
            con.execute("SELECT community_id, county_code FROM raw.communities WHERE _superseded_by IS NULL").fetchall()
        )
    for feed in contract.load_order():
        if f"raw.{feed}" not in tables:
            continue
        spec = contract.feeds[feed]
        keys = con.execute(
            f"SELECT _coverage_key, count(*), max(_batch_id) FROM raw.{feed} WHERE _superseded_by IS NULL "
            "GROUP BY 1 ORDER BY 1"
        ).fetchall()
        if not keys:
            continue
        if spec.is_reference:
            rows = sum(k[1] for k in keys)
            loaded = con.execute(
                "SELECT max(received_at) FROM audit.ingest_batches WHERE feed = ? AND verdict IN "
                "('accepted', 'accepted_with_quarantine')",
                [feed],
            ).fetchone()[0]
            report["coverage"][feed] = {
                "kind": "snapshot",
                "title_zh": spec.title_zh,
                "rows": rows,
                "loaded_at": loaded.isoformat(timespec="seconds") + "Z" if loaded else None,
            }
            continue
        report["coverage"][feed] = _coverage(keys, spec.coverage or "", community_county)
        report["coverage"][feed]["title_zh"] = spec.title_zh
    if "raw.regions" in tables:
        report["region_names"] = dict(
            con.execute("SELECT region_code, name FROM raw.regions WHERE _superseded_by IS NULL").fetchall()
        )


def _coverage(keys, coverage_kind: str, community_county: dict[str, str]) -> dict:
    """Periods per county from `<county or community>:<period>` keys (or `<YYYY>`)."""
    per: dict[str, set[str]] = {}
    rows = 0
    for key, n, _ in keys:
        rows += n
        if key is None:
            continue
        if ":" in key:
            who, period = key.rsplit(":", 1)
        else:
            who, period = "all", key
        if coverage_kind.startswith("community"):
            who = community_county.get(who, who)
        per.setdefault(who, set()).add(period)
    monthly = all(len(x) == 7 for s in per.values() for x in s)
    step = _month_add if monthly else _year_add
    latest = max((max(s) for s in per.values()), default=None)
    counties = {}
    for who, periods in sorted(per.items()):
        ps = sorted(periods)
        first, last = ps[0], ps[-1]
        span = _months_between(first, last) + 1 if monthly else int(last) - int(first) + 1
        present = set(ps)
        missing = []
        x = first
        while x != last:
            x = step(x, 1)
            if x not in present:
                missing.append(x)
        behind = (_months_between(last, latest) if monthly else int(latest) - int(last)) if latest else 0
        counties[who] = {
            "first": first,
            "last": last,
            "periods": len(ps),
            "span": span,
            "gaps": _ranges(missing, step),
            "behind_latest": behind,
        }
    return {"kind": "monthly" if monthly else "yearly", "rows": rows, "latest": latest, "counties": counties}


def _users(folder: Path) -> dict | None:
    """Active users per role (and how many are disabled) once sign-in exists: the user store
    under MEDCOM_HOME/access, read through `medcom.access.users.all_users()`; None without one."""
    if not (folder / "users.json").exists():
        return None
    try:
        from medcom.access import users as access_users  # sign-in (issue 7)

        everyone = access_users.all_users()
    except (ImportError, AttributeError):
        return None
    except Exception as exc:  # noqa: BLE001 - status must still show the rest
        return {"error": f"{type(exc).__name__}: {exc}"}
    counts: dict = {}
    for u in everyone:
        key = "disabled" if getattr(u, "disabled", False) else str(u.role)
        counts[key] = counts.get(key, 0) + 1
    return counts


def _next_step(report: dict) -> str | None:
    if report["warehouse"]["writer_running_pid"]:
        return None
    if not report["ingested_files"]:
        return "medcom ingest INBOX"
    li = report["last_ingest"]
    if li and not any(li["verdicts"].get(v) for v in ACCEPTED) and li["verdicts"].get("rejected"):
        return "fix the rejected files and ingest them again"
    built = report["last_passed_build"]
    if li and (built is None or (li["finished_at"] or "") > (built.get("started_at") or "").replace("+00:00", "Z")):
        return "medcom build"
    if report["published"] and report["published"]["has_marts"]:
        return "medcom serve"
    return None


# ---------------------------------------------------------------------------- text
T = {
    "title": ("medcom status", "medcom 状态"),
    "home": ("MEDCOM_HOME", "MEDCOM_HOME"),
    "warehouse": ("warehouse", "数据仓库"),
    "none_yet": ("not created yet (nothing ingested)", "尚未创建（尚未导入数据）"),
    "writer": ("an ingest or build is running now (pid {pid})", "导入或构建正在进行（进程 {pid}）"),
    "archive": ("file archive", "文件存档"),
    "files": ("files", "个文件"),
    "published": ("published", "已发布快照"),
    "unpublished": ("nothing published yet: readers see no data", "尚未发布：用户看不到数据"),
    "no_marts": ("no KPI tables yet (run medcom build)", "尚无指标表（请运行 medcom build）"),
    "from_build": ("from the build of {t}", "来自 {t} 的构建"),
    "from_ingest": ("published by an ingest; KPI tables from the last build", "由导入发布；指标表来自上次构建"),
    "last_ingest": ("last ingest", "最近一次导入"),
    "never": ("none yet", "暂无"),
    "rows_loaded": ("{n} rows loaded, {q} quarantined", "载入 {n} 行，隔离 {q} 行"),
    "more_files": (
        "… {n} more (medcom status --format json lists every file)",
        "……另有 {n} 个（--format json 列出全部）",
    ),
    "loaded": ("loaded data (current rows per feed)", "已载入数据（各数据源当前行）"),
    "snapshot": ("registry snapshot, {n} rows, loaded {t}", "名录快照，{n} 行，{t} 载入"),
    "months": ("months", "个月"),
    "years": ("years", "年"),
    "gaps": ("missing", "缺"),
    "behind": ("{n} behind the latest", "比最新落后 {n}"),
    "all_counties": ("alike for all {n} counties", "{n} 个县区相同"),
    "last_build": ("last build", "最近一次构建"),
    "passed": ("passed", "通过"),
    "failed": ("FAILED", "失败"),
    "took": ("took {s}", "用时 {s}"),
    "nodes": ("{n} nodes passed", "{n} 个节点通过"),
    "nodes_failed": ("{n} failed", "{n} 个失败"),
    "users": ("users", "用户"),
    "disabled": ("disabled", "已停用"),
    "next": ("next", "下一步"),
    "verdict_accepted": ("accepted", "接收"),
    "verdict_accepted_with_quarantine": ("accepted with quarantine", "接收（部分隔离）"),
    "verdict_rejected": ("rejected", "拒收"),
    "verdict_duplicate": ("duplicate", "重复"),
    "engine": ("engine", "引擎"),
}


def _t(key: str, lang: str, **kw) -> str:
    en, zh = T[key]
    return (zh if lang == "zh" else en).format(**kw)


def _secs(s) -> str:
    if s is None:
        return "-"
    s = float(s)
    return f"{s:.1f} s" if s < 120 else f"{int(s // 60)} min {int(s % 60)} s"


def _when(iso: str | None) -> str:
    if not iso:
        return "-"
    return iso.replace("T", " ").replace("+00:00", " UTC").replace("Z", " UTC")


def render_text(r: dict, lang: str = "en") -> str:
    L = []  # noqa: N806
    w = r["warehouse"]
    L.append(f"{_t('home', lang)}: {r['medcom_home']}")
    if w["exists"]:
        L.append(f"{_t('warehouse', lang)}: {w['path']} ({human_bytes(w['bytes'])})")
    else:
        L.append(f"{_t('warehouse', lang)}: {_t('none_yet', lang)}")
    if w["writer_running_pid"]:
        L.append("  " + _t("writer", lang, pid=w["writer_running_pid"]))
    a = r["archive"]
    if a["files"]:
        L.append(f"{_t('archive', lang)}: {a['files']} {_t('files', lang)} ({human_bytes(a['bytes'])})")
    pub = r["published"]
    if pub is None:
        L.append(f"{_t('published', lang)}: {_t('unpublished', lang)}")
    else:
        extra = []
        if pub.get("error"):
            extra.append(pub["error"])
        elif not pub["has_marts"]:
            extra.append(_t("no_marts", lang))
        elif pub["from_build"]:
            extra.append(_t("from_build", lang, t=_when(pub["from_build"])))
        else:
            extra.append(_t("from_ingest", lang))
        L.append(
            f"{_t('published', lang)}: {pub['snapshot']} ({_when(pub['published_at'])}, "
            f"{human_bytes(pub['bytes'])}) — " + "; ".join(extra)
        )

    li = r["last_ingest"]
    L.append("")
    if li is None:
        L.append(f"{_t('last_ingest', lang)}: {_t('never', lang)}")
    else:
        verdicts = ", ".join(f"{n} {_t('verdict_' + v, lang)}" for v, n in sorted(li["verdicts"].items()))
        L.append(
            f"{_t('last_ingest', lang)}: {li['run_id']} ({_when(li['finished_at'])}) — {li['files']} "
            f"{_t('files', lang)}: {verdicts}; "
            + _t("rows_loaded", lang, n=f"{li['rows_loaded']:,}", q=f"{li['rows_quarantined']:,}")
        )
        by_feed: dict[str, int] = {}
        for f in li["file_list"]:
            if f["verdict"] == "accepted":
                by_feed[f["feed"] or "?"] = by_feed.get(f["feed"] or "?", 0) + 1
        if by_feed:
            L.append(
                f"  {_t('verdict_accepted', lang)}: " + ", ".join(f"{feed} {n}" for feed, n in sorted(by_feed.items()))
            )
        shown = [f for f in li["file_list"] if f["verdict"] != "accepted"]
        for f in shown[:MAX_FILES_LISTED]:
            why = f"  {f['reasons']}" if f["reasons"] else ""
            L.append(f"  {_t('verdict_' + f['verdict'], lang)}: {f['file']}{why}"[:240])
        if len(shown) > MAX_FILES_LISTED:
            L.append("  " + _t("more_files", lang, n=len(shown) - MAX_FILES_LISTED))

    if r["coverage"]:
        L.append("")
        L.append(_t("loaded", lang) + ":")
        names = {f: f"{f} {c.get('title_zh') or ''}".strip() if lang == "zh" else f for f, c in r["coverage"].items()}
        width = max(_cells(x) for x in names.values())
        for feed, c in r["coverage"].items():
            head = f"  {names[feed]}{' ' * (width - _cells(names[feed]))}  "
            if c["kind"] == "snapshot":
                L.append(head + _t("snapshot", lang, n=f"{c['rows']:,}", t=_when(c["loaded_at"])))
                continue
            L.extend(_coverage_lines(head, c, lang, r.get("region_names") or {}))

    b = r["last_build"]
    L.append("")
    if b is None:
        L.append(f"{_t('last_build', lang)}: {_t('never', lang)}")
    else:
        ok = b.get("outcome") == "passed"
        bits = [
            _t("passed" if ok else "failed", lang),
            f"{_t('engine', lang)} {b.get('engine')}",
            _when(b.get("started_at")),
            _t("took", lang, s=_secs(b.get("seconds"))),
        ]
        if b.get("nodes_passed") is not None:
            bits.append(_t("nodes", lang, n=b["nodes_passed"]))
        if b.get("nodes_failed"):
            bits.append(_t("nodes_failed", lang, n=b["nodes_failed"]))
        L.append(f"{_t('last_build', lang)}: " + ", ".join(bits))
        if not ok and b.get("error"):
            L.append(f"  {b['error']}")
        if b.get("log"):
            L.append(f"  log: {b['log']}")
    if r["users"]:
        u = dict(r["users"])
        off = u.pop("disabled", 0)
        text = ", ".join(f"{k} {v}" for k, v in sorted(u.items()))
        L.append(f"{_t('users', lang)}: {text}" + (f"; {_t('disabled', lang)} {off}" if off else ""))
    if r["next"]:
        L.append("")
        L.append(f"{_t('next', lang)}: {r['next']}")
    return "\n".join(L)


def _cells(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _count(n: int, kind: str, lang: str) -> str:
    if lang == "zh":
        return f"{n} {_t('months' if kind == 'monthly' else 'years', lang)}"
    word = "month" if kind == "monthly" else "year"
    return f"{n} {word}" + ("" if n == 1 else "s")


def _coverage_lines(head: str, c: dict, lang: str, names: dict[str, str]) -> list[str]:
    kind = c["kind"]

    def one(x: dict) -> str:
        s = f"{x['first']}…{x['last']} ({_count(x['periods'], kind, lang)})" if x["first"] != x["last"] else x["first"]
        if x["gaps"]:
            s += f", {_t('gaps', lang)} " + ", ".join(x["gaps"])
        if x["behind_latest"]:
            s += ", " + _t("behind", lang, n=_count(x["behind_latest"], kind, lang))
        return s

    counties = c["counties"]
    texts = {who: one(x) for who, x in counties.items()}
    if len(set(texts.values())) == 1 and counties:
        who = next(iter(counties))
        label = "" if who == "all" else f" · {_t('all_counties', lang, n=len(counties))}"
        return [head + texts[who] + label]
    out = [head.rstrip()]
    labels = {who: f"{who} {names.get(who, '')}".strip() for who in texts}
    width = max(_cells(x) for x in labels.values())
    for who, text in texts.items():
        label = labels[who]
        out.append(f"    {label}{' ' * (width - _cells(label))}  {text}")
    return out
