"""The query syntax both store backends accept, parsed once.

Words (all must match), "quoted phrases", OR, NOT/-word, parentheses and trailing * for a prefix.
Words and phrases keep only their word characters, so punctuation in user input never breaks a
backend's parser. Each backend renders the parsed query into its own language (FTS5 in
`sqlite.fts_expression`, a bool query in `elasticsearch`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]
    prefix: bool = False


_QUERY_TOKEN = re.compile(r'"[^"]*"|\(|\)|[^\s()"]+')


@dataclass
class ParsedQuery:
    """The user's query: a positive expression (terms, AND, OR, parentheses) and terms to exclude."""

    positive: list[Term | str]
    negative: list[Term]


def parse_query(query: str) -> ParsedQuery:
    """Parse the common query syntax.

    Words and phrases keep only their word characters, so punctuation never breaks the query;
    AND/OR/NOT and parentheses keep their meaning; `-word` and `NOT word` exclude; `word*` is a prefix.
    """
    positive: list[Term | str] = []
    negative: list[Term] = []
    negate = False
    depth = 0
    for raw in _QUERY_TOKEN.findall(query or ""):
        if raw in ("AND", "OR"):
            if positive and positive[-1] not in ("AND", "OR", "("):
                positive.append(raw)
            continue
        if raw == "NOT":
            negate = True
            continue
        if raw == "(":
            depth += 1
            positive.append("(")
            continue
        if raw == ")":
            if depth > 0:
                depth -= 1
                while positive and positive[-1] in ("AND", "OR"):
                    positive.pop()
                if positive and positive[-1] == "(":
                    positive.pop()
                else:
                    positive.append(")")
            continue
        text = raw
        if text.startswith("-") and len(text) > 1:
            negate, text = True, text[1:]
        prefix = text.endswith("*") and not text.startswith('"')
        words = tuple(re.findall(r"\w+", text.strip('"').rstrip("*")))
        if not words:
            negate = False
            continue
        if negate:
            negative.append(Term(words, prefix))
            negate = False
        else:
            positive.append(Term(words, prefix))
    while positive and positive[-1] in ("AND", "OR", "("):
        positive.pop()
    positive.extend(")" * (positive.count("(") - positive.count(")")))
    return ParsedQuery(positive=positive, negative=negative)
