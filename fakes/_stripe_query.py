"""Stripe's search query language and list pagination, as pure functions over records.

Search (``GET /v1/<resource>/search?query=...``) takes clauses joined by ``AND`` or by
``OR`` (Stripe refuses a query that mixes them): ``field:'value'`` (exact match;
case-insensitive for ``email`` and ``name``), ``-field:'value'`` (negation),
``metadata['key']:'value'``, and ``field>N``, ``>=``, ``<``, ``<=`` for numbers
(``amount``, ``created``). A field the resource does not support, or any other syntax,
is a 400 ``invalid_request_error``, as it is from Stripe: a query that the fake cannot
read must never silently match nothing.

Lists are newest first, ``limit`` 1 to 100 (default 10), with ``starting_after`` /
``ending_before`` cursors (object ids), as Stripe's lists are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from simulator import Response

from ._common import invalid

#: one clause: optional negation, a field or metadata['key'], an operator, a value
_CLAUSE = re.compile(
    r"""\s*(?P<neg>-)?(?:metadata\[(?P<mq>['"])(?P<mkey>[^'"]+)(?P=mq)\]|(?P<field>[a-z_]+))
        \s*(?P<op>:|>=|<=|>|<)\s*
        (?:(?P<q>['"])(?P<sval>(?:\\.|(?!(?P=q)).)*)(?P=q)|(?P<num>-?\d+))\s*""",
    re.VERBOSE,
)
_JOIN = re.compile(r"\s+(AND|OR)\s+")


@dataclass(frozen=True, slots=True)
class Clause:
    """``field op value``; ``field`` is ``metadata.<key>`` for a metadata clause."""

    field: str
    op: str
    value: str | int
    negate: bool


def parse_query(query: str, fields: Sequence[str]) -> tuple[list[Clause], str] | Response:
    """``(clauses, "AND" | "OR")`` or a 400 Response naming what is wrong."""
    clauses: list[Clause] = []
    joins: set[str] = set()
    pos = 0
    while True:
        m = _CLAUSE.match(query, pos)
        if m is None or not m.group(0).strip():
            return invalid(f"Invalid search query at position {pos}: {query!r}",
                           param="query", code="parameter_invalid")
        field = f"metadata.{m.group('mkey')}" if m.group("mkey") else m.group("field")
        if not field.startswith("metadata.") and field not in fields:
            return invalid(f"Field '{field}' is an unsupported search field for this "
                           f"resource; supported: {', '.join(fields)}, metadata['key'].",
                           param="query", code="parameter_invalid")
        op = m.group("op")
        if m.group("num") is not None:
            value: str | int = int(m.group("num"))
        else:
            value = re.sub(r"\\(.)", r"\1", m.group("sval"))
            if op != ":":
                return invalid(f"Operator {op} needs a number: {query!r}", param="query",
                               code="parameter_invalid")
        clauses.append(Clause(field, op, value, bool(m.group("neg"))))
        pos = m.end()
        if pos == len(query):
            break
        j = _JOIN.match(query, pos - 1) or _JOIN.match(query, pos)
        if j is None:
            return invalid(f"Invalid search query at position {pos}: {query!r}",
                           param="query", code="parameter_invalid")
        joins.add(j.group(1))
        pos = j.end()
    if len(joins) > 1:
        return invalid("Search queries cannot mix AND and OR.", param="query",
                       code="parameter_invalid")
    return clauses, (joins.pop() if joins else "AND")


#: fields compared without regard to case, as Stripe's search compares them
_CASELESS = frozenset({"email", "name"})


def matches(record: dict[str, Any], clauses: list[Clause], join: str) -> bool:
    """Whether a Stripe object (its JSON) satisfies the parsed query."""
    results = (_holds(record, c) != c.negate for c in clauses)
    return all(results) if join == "AND" else any(results)


def _holds(record: dict[str, Any], clause: Clause) -> bool:
    if clause.field.startswith("metadata."):
        actual: Any = (record.get("metadata") or {}).get(clause.field[len("metadata."):])
    else:
        actual = record.get(clause.field)
    if clause.op == ":":
        if isinstance(clause.value, int):
            return actual == clause.value
        if isinstance(actual, str) and clause.field in _CASELESS:
            return actual.lower() == clause.value.lower()
        return actual == clause.value
    if not isinstance(actual, int) or not isinstance(clause.value, int):
        return False
    compare: dict[str, Callable[[int, int], bool]] = {
        ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
        "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    }
    return compare[clause.op](actual, clause.value)


def check_limit(limit: int) -> Response | None:
    if not 1 <= limit <= 100:
        return invalid("This value must be between 1 and 100.", param="limit",
                       code="parameter_invalid_integer")
    return None


def page(objects: list[dict[str, Any]], args: dict[str, Any], url: str) -> Response:
    """A Stripe list of ``objects`` (given oldest first; listed newest first)."""
    newest_first = objects[::-1]
    ids = [o["id"] for o in newest_first]
    after, before = args.get("starting_after"), args.get("ending_before")
    if after is not None and before is not None:
        return invalid("You may only specify one of these parameters: ending_before, "
                       "starting_after.", param="starting_after", code="parameter_invalid")
    limit = args["limit"]
    if after is not None or before is not None:
        cursor = after if after is not None else before
        if cursor not in ids:
            return invalid(f"No such object: '{cursor}'",
                           param="starting_after" if after is not None else "ending_before",
                           code="resource_missing")
        i = ids.index(cursor)
        if after is not None:
            window = newest_first[i + 1:]
            data, more = window[:limit], len(window) > limit
        else:
            window = newest_first[:i]
            data, more = window[-limit:], len(window) > limit
    else:
        data, more = newest_first[:limit], len(newest_first) > limit
    return Response(200, {"object": "list", "data": data, "has_more": more, "url": url})


def search_page(objects: list[dict[str, Any]], args: dict[str, Any]) -> Response:
    """A Stripe search result (newest first); ``page`` is the cursor of ``next_page``."""
    newest_first = objects[::-1]
    start = 0
    token = args.get("page")
    if token is not None:
        if not (token.startswith("page_") and token[5:].isdigit()):
            return invalid(f"Invalid page: {token!r}", param="page", code="parameter_invalid")
        start = int(token[5:])
    limit = args["limit"]
    data = newest_first[start:start + limit]
    more = len(newest_first) > start + limit
    return Response(200, {"object": "search_result", "data": data, "has_more": more,
                          "next_page": f"page_{start + limit}" if more else None})
