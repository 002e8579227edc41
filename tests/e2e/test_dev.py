"""The README's commands as a new user runs them: through ./dev alone, stopped with Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from shulian_common.auth import Role, decode_token
from shulian_common.settings import Settings
from shulian_common.testing.ports import free_port_block

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
DEV = ROOT / "dev"


def _env(**extra: str) -> dict[str, str]:
    env = os.environ | {"PYTHONUNBUFFERED": "1", **extra}
    # `uv run` names itself in UV: let ./dev find the same uv instead of bootstrapping one.
    if "UV" in env:
        env["PATH"] = f"{Path(env['UV']).parent}{os.pathsep}{env.get('PATH', '')}"
    for name in ("SHULIAN_DATABASE_URL", "SHULIAN_BUS_URL", "SHULIAN_NODE_ID"):
        env.pop(name, None)
    return env


def test_dev_runs_any_shulian_command() -> None:
    done = subprocess.run(
        [str(DEV), "shulian", "token", "--role", "partner"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    principal = decode_token(Settings(), done.stdout.strip())
    assert principal.role is Role.PARTNER


def _wait_for_ready(proc: subprocess.Popen[str], seconds: float) -> list[str]:
    assert proc.stdout is not None
    deadline, lines = time.monotonic() + seconds, []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("Logs:"):
            return lines
    raise AssertionError("./dev up never became ready:\n" + "".join(lines))


def test_ctrl_c_stops_dev_up_cleanly(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [str(DEV), "up", "--data-dir", str(tmp_path), "--base-port", str(free_port_block(10))],
        env=_env(SHULIAN_LOG_LEVEL="WARNING"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        _wait_for_ready(proc, 300)  # seconds: a fresh ./dev on a loaded box
        # A terminal's Ctrl-C: SIGINT to every process of the foreground group (uv, the
        # launcher and its services), after which uv forwards its own copy to the launcher.
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        # When the prompt returns, every service has stopped: none is left running behind it.
        with pytest.raises(ProcessLookupError):
            os.killpg(proc.pid, 0)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in out + err, err
    assert "stopping" in out
    for log in tmp_path.glob("*/*.log"):
        assert "Traceback" not in log.read_text(errors="replace"), log
