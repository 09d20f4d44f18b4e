"""The row-rule registry (ingest/rules.py) against the contract that names its rules."""

from __future__ import annotations

import re

import pytest

from ingest import rules
from ingest.checks import compile_checks
from ingest.crossfeed import helper_columns
from medcom.contract import load_contract

# helper columns every `typed` has (normalise / enrich), not declared by a rule
_BASE = {"_row_number", "_shape_error", "_coverage_key", "_identity", "_dup"}


def test_every_rule_and_ref_of_the_contract_is_in_the_registry_and_every_entry_is_used():
    feeds = load_contract().feeds.values()
    named = {r for f in feeds for r in f.rules}
    refs = {c.ref for f in feeds for c in f.columns.values() if c.ref}
    assert named == set(rules.RULES)
    assert refs == set(rules.REFS)


def test_unknown_rule_is_a_clear_error():
    with pytest.raises(ValueError, match="no implementation for row rule nope"):
        rules.rule("nope", "encounters")


@pytest.mark.parametrize("feed", sorted(load_contract().feeds))
def test_every_helper_a_check_uses_is_provided(feed):
    """A rule's SQL may only name `_…` columns its helpers (or the generic lookups) add."""
    sel, _ = helper_columns(feed)
    provided = {m.group(1) for s in sel for m in re.finditer(r'AS "?(_\w+)"?$', s)} | _BASE
    for check in compile_checks(feed):
        used = set(re.findall(r"(?<![\w.])(_[a-z]\w*)", check.invalid_sql.replace('"', " ")))
        used = {u for u in used if not u.endswith("__src") and "__src" not in u}
        assert used <= provided, (check.id, used - provided)
