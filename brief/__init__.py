"""Report: the weekly market brief (HTML and PDF)."""
