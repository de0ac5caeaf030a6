"""Kehai's command line from a checkout: `python run.py [serve|create-user|migrate|demo]`.
The same as the `kehai` console script (app/cli.py)."""

from app.cli import main

if __name__ == "__main__":
    raise SystemExit(main(prog="run.py"))
