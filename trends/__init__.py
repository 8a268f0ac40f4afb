"""Detect: time series per entity and the detector that tells real shifts from blips."""
