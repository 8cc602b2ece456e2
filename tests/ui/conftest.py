"""The dashboard tests use the shared fixtures of tests/conftest.py (sample and hand-made databases)."""
