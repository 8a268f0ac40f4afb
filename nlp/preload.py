"""Imported by the enrichment fork server only (`groundswell.app.processes._PRELOAD`): loads, once,
what every worker would load for itself, so each worker forked from there starts with it.

- py3langid's model (unpacking it costs ~0.4 s of CPU per process; `nlp.enricher._language_identifier`
  keeps it per process and classifying only reads it), its LZMA decompression in a thread while the
  spaCy pipeline loads (`nlp.enricher.unpack_language_model`: the fork server's preload is serial, and
  the other core is free then);
- the spaCy pipeline named by `nlp.entities.PIPELINE_ENV` (`nlp.entities.pipeline_key` as JSON; ~0.5 s of CPU per
  process), which `groundswell.app.processes` sets while it starts the fork server. The workers take
  it from `nlp.entities.load_pipeline`'s per-process cache, under the same key; a worker whose
  settings give another key loads its own.
"""

from __future__ import annotations

import atexit
import json
import logging
import os

from nlp.enricher import FORK_SERVER_ENV, _language_identifier, unpack_language_model
from nlp.entities import PIPELINE_ENV, load_pipeline

_unpacked = unpack_language_model()  # in a thread, while the spaCy pipeline loads


def _load_named_pipeline() -> None:
    named = os.environ.get(PIPELINE_ENV)
    if not named:
        return
    try:
        model, lean, patterns = json.loads(named)
        load_pipeline((str(model), bool(lean), str(patterns)))
    except Exception:  # the workers load it themselves
        logging.getLogger(__name__).warning("fork server: spaCy pipeline not preloaded", exc_info=True)


_load_named_pipeline()
_unpacked()
_language_identifier()

# The fork server outlives the command only to exit when it does: tearing down an interpreter holding
# torch and spaCy took ~0.5 s, during which the command's stdout and stderr, which it inherited, stayed
# open (a caller reading them to the end waited for it). Nothing of it needs tearing down. Only in the
# fork server (`groundswell.app.processes` names it so while starting it): elsewhere an exit code counts.
if os.environ.pop(FORK_SERVER_ENV, None) == "1":
    atexit.register(os._exit, 0)
