"""Real processes for tests that need them: the `referral` CLI, and a served app on a port."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.conftest import PASSWORD

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[1]


def production_env(url: str, **extra: str) -> dict[str, str]:
    """The environment of a production deployment on `url` (with test secrets)."""
    return {
        **os.environ,
        "REFERRAL_ENV": "production",
        "REFERRAL_SECRET_KEY": "live-test-secret-0123456789abcdef",
        "REFERRAL_AUDIT_KEY": "live-test-audit-key-0123456789abcdefghij",
        "REFERRAL_DATABASE_URL": url,
        **extra,
    }


def referral_cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [str(BIN / "referral"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


def add_user(
    env: dict[str, str], username: str, agency: str, area: str, role: str = "practitioner"
) -> str:
    """Create a user of `area` with the CLI; return a new write token of theirs."""
    referral_cli(
        env,
        "users",
        "create",
        username,
        "--agency",
        agency,
        "--role",
        role,
        "--area",
        area,
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    return referral_cli(env, "tokens", "create", username, "--scope", "write").splitlines()[-1]


def free_port() -> int:
    """A port below 32768 (outside Linux's ephemeral range) that nothing listens on now."""
    start = 20000 + os.getpid() % 10000
    for port in range(start, start + 2000):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below 32768")


class Server:
    """gunicorn serving wsgi:app, in its own process group."""

    def __init__(self, env: dict[str, str], log: Path, workers: int = 2) -> None:
        self.port = free_port()
        self.log_path = log
        bind = f"127.0.0.1:{self.port}"
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(BIN / "gunicorn"), "-w", str(workers), "-b", bind, "wsgi:app"],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pgid = self.process.pid  # a new session: the master leads its own process group

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"gunicorn exited:\n{self.log_tail()}"
            try:
                status, _ = request(self.port, "GET", "/readyz", timeout=2)
            except (OSError, http.client.HTTPException):
                status = 0
            if status == 200:
                return
            time.sleep(0.1)
        raise AssertionError(f"gunicorn not ready after {timeout}s:\n{self.log_tail()}")

    def kill(self) -> None:
        """kill -9 the master and its workers at once."""
        os.killpg(self.pgid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.pgid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()


def request(
    port: int,
    method: str,
    path: str,
    token: str | None = None,
    body: Any = None,
    timeout: float = 15,
) -> tuple[int, Any]:
    """One HTTP exchange on a fresh connection; raises OSError or HTTPException if it breaks."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(
            method, path, body=None if body is None else json.dumps(body), headers=headers
        )
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    return response.status, json.loads(raw) if raw else None
