"""Understand: language, entities, sentiment, emotion, topics, voice of the customer, business area, safety.

Public API (what the pipeline calls)::

    enricher = Enricher.from_settings(config)
    enricher.enrich(mentions)                       # fills every enrichment field, never drops one
    enrich_store(config, store)                      # enrich the store's not-yet-enriched mentions
    nlp.authors.score_authors(config, store)         # opinion-leader scores -> `authors` collection

Heavy libraries (torch, spaCy, sentence-transformers) are imported only when models are built.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

# PyTorch's OpenMP threads spin between parallel regions by default: on a machine that other work
# keeps busy, 2 spinning threads enriched at 11 mentions per CPU-second against 37-38 for 1 thread or
# 2 passive ones (benchmarks/bench_nlp.py, load 10-12). Read once, when torch is first imported, so
# set here, before any model is built; an explicit OMP_WAIT_POLICY wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from groundswell.lazy import lazy_attributes

if TYPE_CHECKING:
    from nlp.enricher import Enricher, EnrichSummary, enrich_store

__all__ = ["EnrichSummary", "Enricher", "enrich_store"]

# imported on first use so that `import nlp.cli` (the command line) stays fast
_LAZY = {
    "EnrichSummary": "nlp.enricher",
    "Enricher": "nlp.enricher",
    "enrich_store": "nlp.enricher",
}


__getattr__ = lazy_attributes(__name__, _LAZY)
