"""The feed contract: one declarative description of every feed (feeds.yaml).

Everything that needs to know a feed's columns, types, Chinese header aliases or code
lists asks this module: the ingest parser, the great-expectations suites, the synthetic
generator and the exported dbt sources.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import yaml

TYPES = {"text", "code", "enum", "date", "month", "year", "int", "money", "number", "bool"}

# DuckDB type of each contract type in the raw layer (docs/architecture.md).
DUCKDB_TYPES = {
    "text": "VARCHAR",
    "code": "VARCHAR",
    "enum": "VARCHAR",
    "date": "DATE",
    "month": "DATE",
    "year": "INTEGER",
    "int": "BIGINT",
    "money": "DECIMAL(18,2)",
    "number": "DOUBLE",
    "bool": "BOOLEAN",
}

# Reference feeds load in this order within a run, before any activity feed.
_UNIT_SUFFIX = re.compile(r"\s*\([^()]*\)\s*$")


def normalise_header(text: str) -> str:
    """Header key: NFKC (full-width → half-width), trimmed, lower-case, no trailing unit.

    `总费用（元）`, `总费用(元)` and ` 总费用 ` all give `总费用`.
    """
    s = unicodedata.normalize("NFKC", str(text)).strip().lower()
    s = s.lstrip("\ufeff")
    s = _UNIT_SUFFIX.sub("", s)
    return re.sub(r"\s+", " ", s).strip()


def normalise_label(text: str) -> str:
    """Key used to match enumeration labels and booleans (NFKC, trimmed, lower-case)."""
    return unicodedata.normalize("NFKC", str(text)).strip().lower()


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    aliases: tuple[str, ...]
    required: bool = False
    not_null: bool = False
    pattern: str | None = None
    enum: str | None = None
    min: float | None = None
    max: float | None = None
    min_exclusive: float | None = None
    event: bool = False
    default: object = None
    ref: str | None = None
    unique: bool = False
    pseudonymise: bool = False

    @property
    def duckdb_type(self) -> str:
        return DUCKDB_TYPES[self.type]


@dataclass(frozen=True)
class Feed:
    name: str
    kind: str  # reference | activity
    title_zh: str
    columns: dict[str, Column]
    order: int = 100
    identity: tuple[str, ...] = ()
    additive: bool = False
    coverage: str | None = None
    rules: tuple[str, ...] = ()
    batch: tuple[str, ...] = ()  # batch-level expectations (expectations/batch.py)

    @property
    def is_reference(self) -> bool:
        return self.kind == "reference"

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns.values() if c.required]

    @property
    def column_names(self) -> list[str]:
        return list(self.columns)


@dataclass
class Contract:
    feeds: dict[str, Feed]
    enums: dict[str, dict[str, tuple[str, ...]]]
    booleans: dict[bool, tuple[str, ...]]
    _header_index: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for feed in self.feeds.values():
            index: dict[str, str] = {}
            for col in feed.columns.values():
                for key in (col.name, *col.aliases):
                    index[normalise_header(key)] = col.name
            self._header_index[feed.name] = index

    # -- headers ----------------------------------------------------------------
    def match_header(self, header: str, feed: str) -> str | None:
        """Canonical column for a file header of `feed`, or None when not recognised."""
        return self._header_index[feed].get(normalise_header(header))

    # -- enumerations -----------------------------------------------------------
    def enum_lookup(self, enum: str) -> dict[str, str]:
        """{normalised code or label: canonical code} for an enumeration."""
        out: dict[str, str] = {}
        for code, labels in self.enums[enum].items():
            out[normalise_label(code)] = code
            for label in labels:
                for alt in label.split("/"):
                    out[normalise_label(alt)] = code
        return out

    def enum_codes(self, enum: str) -> list[str]:
        return list(self.enums[enum])

    def bool_lookup(self) -> dict[str, bool]:
        return {normalise_label(v): b for b, vals in self.booleans.items() for v in vals}

    # -- ordering ---------------------------------------------------------------
    def load_order(self) -> list[str]:
        """Feeds in the order a run loads them: reference feeds first, by `order`."""
        return sorted(self.feeds, key=lambda f: (not self.feeds[f].is_reference, self.feeds[f].order, f))

    def feed_for_filename(self, filename: str) -> str | None:
        """Feed whose name starts the file name (longest match wins)."""
        stem = filename.lower()
        best = None
        for name in self.feeds:
            if not stem.startswith(name):
                continue
            bounded = len(stem) == len(name) or not stem[len(name)].isalpha()
            if bounded and (best is None or len(name) > len(best)):
                best = name
        return best


def _column(name: str, spec: dict) -> Column:
    ctype = spec["type"]
    if ctype not in TYPES:
        raise ValueError(f"column {name}: unknown type {ctype}")
    return Column(
        name=name,
        type=ctype,
        aliases=tuple(spec.get("alias", ())),
        required=bool(spec.get("required", False)),
        not_null=bool(spec.get("not_null", False)),
        pattern=spec.get("pattern"),
        enum=spec.get("enum"),
        min=spec.get("min"),
        max=spec.get("max"),
        min_exclusive=spec.get("min_exclusive"),
        event=bool(spec.get("event", False)),
        default=spec.get("default"),
        ref=spec.get("ref"),
        unique=bool(spec.get("unique", False)),
        pseudonymise=bool(spec.get("pseudonymise", False)),
    )


@lru_cache(maxsize=1)
def load_contract() -> Contract:
    text = resources.files("medcom.contract").joinpath("feeds.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    enums = {name: {str(code): tuple(labels) for code, labels in codes.items()} for name, codes in raw["enums"].items()}
    booleans = {v == "true": tuple(str(x) for x in vals) for v, vals in raw["booleans"].items()}
    feeds = {}
    for name, spec in raw["feeds"].items():
        cols = {c: _column(c, s) for c, s in spec["columns"].items()}
        for c in cols.values():
            if c.type == "enum" and c.enum not in enums:
                raise ValueError(f"{name}.{c.name}: unknown enum {c.enum}")
        feeds[name] = Feed(
            name=name,
            kind=spec["kind"],
            title_zh=spec.get("title_zh", name),
            columns=cols,
            order=int(spec.get("order", 100)),
            identity=tuple(spec.get("identity", ())),
            additive=bool(spec.get("additive", False)),
            coverage=spec.get("coverage"),
            rules=tuple(spec.get("rules", ())),
            batch=tuple(spec.get("batch", ())),
        )
    return Contract(feeds=feeds, enums=enums, booleans=booleans)
