"""The test kit: sample data, fake servers and fixtures shared by the tests and the benchmarks.

Never shipped in the package. `tests/conftest.py` registers `tests.kit.es`'s fixtures
(osmem-server, both store backends) for every test.
"""
