"""The query syntax both store backends accept, parsed once.

Words (all must match), "quoted phrases", OR, NOT/-word, parentheses and trailing * for a prefix.
Words and phrases keep only their word characters, so punctuation in user input never breaks a
backend's parser. Each backend renders the parsed query into its own language (FTS5 in
`sqlite.fts_expression`, a bool query in `elasticsearch`).

A query is bounded before any backend sees it (`QuerySyntaxError`, with what, the value and the
limit): at most `MAX_QUERY_CHARS` characters, `MAX_TERMS` words and phrases, `MAX_WORDS` words in
all, `MAX_DEPTH` nested parentheses. A syntax problem (an unclosed quote or parenthesis, a `)`
without its `(`) is reported, not silently repaired: the user would otherwise get results for a
query they did not write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from groundswell.store.base import StoreError

MAX_QUERY_CHARS = 1000
MAX_TERMS = 32  # words and phrases, positive and negative
MAX_WORDS = 64  # words in all (a phrase counts each of its words)
MAX_DEPTH = 8  # nested parentheses


class QuerySyntaxError(StoreError, ValueError):
    """The search query is malformed or beyond the bounds; the message says what and how to fix it."""


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


def check_query(query: str) -> None:
    """Raise `QuerySyntaxError` when `query` is malformed or beyond the bounds (see the module docstring)."""
    parse_query(query)


def _check_syntax(query: str) -> None:
    if len(query) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(
            f"the search query is {len(query):,} characters long; at most {MAX_QUERY_CHARS:,} are allowed"
        )
    quotes = [i for i, c in enumerate(query) if c == '"']
    if len(quotes) % 2:
        raise QuerySyntaxError(
            f"unbalanced quote: the phrase opened by '\"' at character {quotes[-1] + 1} is never closed "
            f"in {_excerpt(query)}; close it with another '\"' or remove it"
        )
    depth, opened = 0, []
    outside = re.sub(
        r'"[^"]*"', lambda m: " " * len(m.group(0)), query
    )  # parentheses inside phrases are text
    for i, c in enumerate(outside):
        if c == "(":
            depth += 1
            opened.append(i)
            if depth > MAX_DEPTH:
                raise QuerySyntaxError(
                    f"the search query nests parentheses more than {MAX_DEPTH} deep (at character {i + 1})"
                )
        elif c == ")":
            if depth == 0:
                raise QuerySyntaxError(
                    f"unbalanced parenthesis: ')' at character {i + 1} has no matching '(' in {_excerpt(query)}"
                )
            depth -= 1
            opened.pop()
    if opened:
        raise QuerySyntaxError(
            f"unbalanced parenthesis: '(' at character {opened[-1] + 1} is never closed in {_excerpt(query)}"
        )


def _excerpt(query: str, limit: int = 80) -> str:
    return repr(query if len(query) <= limit else query[: limit - 1] + "…")


def parse_query(query: str) -> ParsedQuery:
    """Parse the common query syntax.

    Words and phrases keep only their word characters, so punctuation never breaks the query;
    AND/OR/NOT and parentheses keep their meaning; `-word` and `NOT word` exclude; `word*` is a prefix.
    Raises `QuerySyntaxError` for an unclosed quote or parenthesis and for a query beyond the bounds.
    """
    query = query or ""
    _check_syntax(query)
    positive: list[Term | str] = []
    negative: list[Term] = []
    negate = False
    depth = 0
    for raw in _QUERY_TOKEN.findall(query):
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
    terms = [t for t in positive if isinstance(t, Term)] + negative
    if len(terms) > MAX_TERMS:
        raise QuerySyntaxError(
            f"the search query has {len(terms)} words and phrases; at most {MAX_TERMS} are allowed"
        )
    word_count = sum(len(t.words) for t in terms)
    if word_count > MAX_WORDS:
        raise QuerySyntaxError(
            f"the search query has {word_count} words in all; at most {MAX_WORDS} are allowed"
        )
    return ParsedQuery(positive=positive, negative=negative)
