"""Find the input files of `medcom ingest` and the feed each belongs to (feeds.md "Finding the feed").

Rules, for every path given on the command line:

- a directory `DIR`:
  - `DIR/<feed>/**` — every table file in a folder named after a feed (or below it, e.g.
    `DIR/encounters/2020-10/x.csv`) belongs to that feed;
  - `DIR/<file>` — a table file directly in `DIR` belongs to the feed its name starts with
    (`encounters_2020-10_411025.csv`; `contract.feed_for_filename`);
  - a table file whose feed cannot be told (`DIR/foo.csv`, `DIR/unknown_folder/x.csv`) is
    returned with `feed=None` and reason `cannot tell which feed this file belongs to`
    (the pipeline rejects it);
  - anything else (`manifest.json`, `README.md`, hidden files, `~$` Excel lock files,
    folders inside a folder that is not a feed) is listed with `skipped=True` and a note
    in `reason` — it is not a table, so no batch is created for it.
- a file path: its feed is its parent folder's name when that is a feed, else the feed its
  file name starts with; a table file whose feed cannot be told is returned with
  `feed=None`; a path that does not exist is returned with reason `file not found`.

Table files are `*.csv`, `*.xlsx`, `*.parquet` (case-insensitive), plus `*.xls` so that an old
Excel file is rejected with a plain reason by `read_source` instead of being silently skipped. The
result is sorted by the contract's load order (reference feeds first), then by path;
files without a feed come last.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from medcom.contract import load_contract

TABLE_SUFFIXES = {".csv", ".xlsx", ".xls", ".parquet"}
UNKNOWN_FEED = "cannot tell which feed this file belongs to"
NOT_FOUND = "file not found"


@dataclass(frozen=True)
class FoundFile:
    path: Path
    feed: str | None
    reason: str | None = None  # why feed is None (or why the file is skipped)
    skipped: bool = False  # not a table file: ignored, no batch record

    @property
    def ok(self) -> bool:
        return self.feed is not None and not self.skipped


def is_table_file(path: Path) -> bool:
    return path.suffix.lower() in TABLE_SUFFIXES


def _hidden(path: Path) -> bool:
    return path.name.startswith((".", "~$"))


def feed_for_path(path: Path) -> str | None:
    """Feed of one file: parent folder named after a feed, else the file-name prefix."""
    c = load_contract()
    parent = path.parent.name.lower()
    if parent in c.feeds:
        return parent
    return c.feed_for_filename(path.name)


def _classify(path: Path) -> FoundFile:
    if _hidden(path):
        return FoundFile(path, None, "hidden or temporary file, skipped", skipped=True)
    if not is_table_file(path):
        return FoundFile(path, None, f"not a table file ({path.suffix or 'no extension'}), skipped", skipped=True)
    feed = feed_for_path(path)
    if feed is None:
        return FoundFile(path, None, UNKNOWN_FEED)
    return FoundFile(path, feed)


def _scan_dir(root: Path) -> list[FoundFile]:
    c = load_contract()
    out: list[FoundFile] = []
    for entry in sorted(root.iterdir()):
        if entry.is_dir():
            if _hidden(entry):
                continue
            feed = entry.name.lower() if entry.name.lower() in c.feeds else None
            subs = sorted(entry.rglob("*")) if feed is not None else sorted(entry.iterdir())
            for sub in subs:
                if sub.is_dir():
                    if feed is None:
                        out.append(
                            FoundFile(sub, None, "folder inside a folder that is not a feed, skipped", skipped=True)
                        )
                    continue
                if _hidden(sub) or any(_hidden(Path(part)) for part in sub.relative_to(entry).parts[:-1]):
                    out.append(FoundFile(sub, None, "hidden or temporary file, skipped", skipped=True))
                elif not is_table_file(sub):
                    out.append(
                        FoundFile(
                            sub, None, f"not a table file ({sub.suffix or 'no extension'}), skipped", skipped=True
                        )
                    )
                elif feed is not None:
                    out.append(FoundFile(sub, feed))
                else:
                    out.append(_classify(sub))
        elif entry.is_file():
            out.append(_classify(entry))
    return out


def discover(paths: list[Path]) -> list[FoundFile]:
    """All files under `paths` with their feed, sorted by load order then path."""
    found: dict[Path, FoundFile] = {}
    for p in paths:
        p = Path(p)
        if p.is_dir():
            items = _scan_dir(p)
        elif p.is_file():
            items = [_classify(p)]
        else:
            items = [FoundFile(p, None, NOT_FOUND)]
        for item in items:
            found.setdefault(item.path.resolve() if item.path.exists() else item.path, item)
    order = {name: i for i, name in enumerate(load_contract().load_order())}
    return sorted(
        found.values(),
        key=lambda f: (f.skipped, f.feed is None, order.get(f.feed or "", len(order)), str(f.path)),
    )
