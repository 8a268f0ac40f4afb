"""Text cleaning for collected items: markup to plain text, entity decoding, whitespace, bad code points.

`clean_text` is for short fields (titles, comments, feed summaries, API bodies that may hold HTML);
`html_to_main_text` extracts the main content of a whole page with trafilatura (boilerplate dropped).
"""

from __future__ import annotations

import html
import logging
import re
import unicodedata

import lxml.html
from lxml import etree

logger = logging.getLogger(__name__)

__all__ = ["clean_text", "html_to_main_text"]

# A tag-like token: `<p>`, `</div>`, `<br/>`, `<a href=...>`, `<!-- -->`, `<!DOCTYPE`. Plain text such as
# "a < b" or "<3" does not match, so it is not run through an HTML parser.
_MARKUP = re.compile(
    r"<(?:[a-zA-Z][a-zA-Z0-9:-]*(?:\s[^<>]*)?/?|/[a-zA-Z][a-zA-Z0-9:-]*\s*|![a-zA-Z][^<>]*)>|<!--"
)
# C0/C1 controls except tab/newline/carriage return, plus noncharacters and the replacement character.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff\ufffd]")
# Zero-width and bidi formatting characters that carry no text (ZWJ kept: it joins emoji sequences).
_INVISIBLE = re.compile(r"[\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_SPACES = re.compile(r"[^\S\n]+")  # any whitespace except newline
_BLANK_LINES = re.compile(r"\n{3,}")
# huge_tree lifts libxml2's depth and size limits: unclosed tags in malformed pages nest deeply, and the
# default parser silently drops everything below depth 256.
_PARSER = lxml.html.HTMLParser(huge_tree=True)
_SCRIPT_STYLE = re.compile(r"<(script|style|noscript|template)\b.*?</\1\s*>", re.S | re.I)
_DROP_TAGS = ("script", "style", "noscript", "template", "head", "iframe", "svg", "object")
_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd div dl dt fieldset figcaption figure footer form h1 h2 h3 h4 "
    "h5 h6 header hr li main nav ol p pre section table tbody thead tfoot tr ul".split()
)


def _fix_surrogates(text: str) -> str:
    """Join valid UTF-16 surrogate pairs into one code point and drop lone surrogates."""
    if not any("\ud800" <= ch <= "\udfff" for ch in text):
        return text
    joined = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return joined.replace("\ufffd", "")


def _strip_markup(text: str) -> str:
    try:
        root = lxml.html.fromstring(f"<div>{text}</div>", parser=_PARSER)
    except (etree.ParserError, ValueError) as exc:
        # lxml refuses some inputs (e.g. empty documents); fall back to removing the tags textually.
        logger.debug("lxml could not parse markup (%s); stripping tags with a regex", exc)
        return html.unescape(_MARKUP.sub(" ", _SCRIPT_STYLE.sub(" ", text)))
    for element in root.iter(*_DROP_TAGS):
        element.drop_tree()
    for element in root.iter(etree.Comment, etree.ProcessingInstruction):
        element.drop_tree()
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.lower() in _BLOCK_TAGS:
            element.tail = "\n" + (element.tail or "")
            if element.tag.lower() != "br":
                element.text = "\n" + (element.text or "")
    parsed = str(root.text_content())
    # libxml2 stops descending past ~2048 levels: markup with thousands of unclosed tags loses its tail.
    # When the tree holds far less text than the markup does, strip the tags textually instead.
    textual = html.unescape(_MARKUP.sub(" ", _SCRIPT_STYLE.sub(" ", text)))
    if len(parsed.split()) < 0.5 * len(textual.split()):
        logger.warning(
            "markup nested too deeply for the HTML parser (%d chars); stripping tags textually", len(text)
        )
        return textual
    return parsed


def clean_text(html_or_text: str) -> str:
    """Return plain text: markup stripped, HTML entities decoded, whitespace normalised, bad code points removed.

    Paragraph structure survives as single newlines (at most one blank line); runs of spaces and tabs
    collapse to one space; lone surrogates, control characters and zero-width characters are removed;
    the result is NFC-normalised and stripped. Text without markup is only entity-decoded, so "a < b"
    stays intact. Entities are decoded once (a literal "&amp;lt;" becomes "&lt;").
    """
    if not isinstance(html_or_text, str):
        raise TypeError(f"clean_text expects str, got {type(html_or_text).__name__}: {html_or_text!r:.80}")
    text = _fix_surrogates(html_or_text)
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    if _MARKUP.search(text):
        text = _strip_markup(text)
    else:
        text = html.unescape(text)
        text = _fix_surrogates(text)  # numeric entities such as &#xD800; decode to lone surrogates
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _INVISIBLE.sub("", text)
    text = unicodedata.normalize("NFC", text.replace("\xa0", " "))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def html_to_main_text(html: str, url: str) -> str:
    """Extract the main text of a web page with trafilatura (navigation, ads and comments dropped).

    Falls back to `clean_text` of the whole page when trafilatura finds no main content (tiny pages,
    pages that are all markup); returns "" only when the page holds no text at all.
    """
    import trafilatura  # imported lazily: it pulls in a large dependency tree

    if not html.strip():
        return ""
    extracted = trafilatura.extract(
        _fix_surrogates(html),
        url=url,
        include_comments=False,
        include_tables=True,
        deduplicate=False,
    )
    if not extracted:
        logger.debug("trafilatura found no main text at %s; falling back to the whole page", url)
        return clean_text(html)
    return clean_text(extracted)
