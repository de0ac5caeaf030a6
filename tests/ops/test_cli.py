"""The command line as an operator types it: options after the subcommand, help for each
subcommand, and the `kehai` console script."""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib.metadata import entry_points

import httpx
import pytest

from app.cli import build_parser
from tests.support import IN_CI, ROOT, Server, free_port


def test_serve_takes_its_port_after_the_subcommand(tmp_path):
    port, ignored = free_port(), free_port()
    # KEHAI_PORT says otherwise: the option wins.
    server = Server(tmp_path / "srv", port=port, env={"KEHAI_PORT": str(ignored)},
                    args=["serve", "--port", str(port), "--host", "127.0.0.1"]).start()
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{ignored}/healthz")
    finally:
        server.stop()


def test_options_before_the_subcommand_still_work():
    args = build_parser().parse_args(["--port", "8001", "serve"])
    assert args.port == 8001
    args = build_parser().parse_args(["serve", "--port", "8002", "--workers", "2"])
    assert (args.port, args.workers) == (8002, 2)


@pytest.mark.parametrize(("command", "mentions"), [
    ([], ["serve", "create-user", "migrate", "demo", "--port"]),
    (["serve"], ["--host", "--port", "--workers"]),
    (["create-user"], ["name", "--display-name", "--operator", "standard input"]),
    (["migrate"], ["migrations"]),
    (["demo"], ["alice"]),
])
def test_every_subcommand_has_help(command, mentions, capsys):
    with pytest.raises(SystemExit) as exited:
        build_parser("run.py").parse_args([*command, "--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    for word in mentions:
        assert word in shown, (command, word)
    assert "--fd" not in shown and "--worker-index" not in shown  # internal


def test_run_py_help_from_a_shell():
    done = subprocess.run([sys.executable, str(ROOT / "run.py"), "serve", "--help"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "usage: run.py serve" in done.stdout and "--port" in done.stdout


def test_the_kehai_console_script_is_the_same_command():
    (script,) = entry_points(group="console_scripts", name="kehai")
    assert script.value == "app.cli:main"
    path = shutil.which("kehai")
    if path is None:
        if IN_CI:
            pytest.fail("the kehai script is missing: pip install -e . installs it")
        pytest.skip("the package is not installed (pip install -e .)")
    done = subprocess.run([path, "serve", "--help"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and "usage: kehai serve" in done.stdout
