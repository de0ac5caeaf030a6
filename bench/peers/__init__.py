"""The peers Kehai's fan-out is measured against in bench/run.py (see bench/README.md)."""
