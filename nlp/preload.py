"""Imported by the enrichment fork server only (`groundswell.app.processes._PRELOAD`): loads, once,
what every worker reads and no setting changes, so each worker forked from there starts with it
instead of loading its own copy. Today py3langid's model (unpacking it costs ~0.4 s of CPU per
process; `nlp.enricher._language_identifier` keeps it per process and classifying only reads it)."""

from nlp.enricher import _language_identifier

_language_identifier()
