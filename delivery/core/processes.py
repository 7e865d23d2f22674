"""Starting and stopping child processes together: the demo's (and those of the tools in tools/)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

from django.conf import settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(port: int, *, timeout: float = 60.0, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on port {port}")
        time.sleep(0.1)
    raise RuntimeError(f"nothing listened on port {port} within {timeout:.0f}s")


class Children:
    """Child processes started together and stopped together (SIGTERM, then SIGKILL)."""

    def __init__(self, log_dir: Path | None = None) -> None:
        self.log_dir = log_dir or Path(settings.VAR_DIR) / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.processes: list[tuple[str, subprocess.Popen[bytes], IO[bytes] | None]] = []

    def start(self, name: str, args: list[str], *, env: dict[str, str], log: bool = True) -> subprocess.Popen[bytes]:
        out = open(self.log_dir / f"{name}.log", "ab") if log else None  # noqa: SIM115 - closed in stop()
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            args,
            cwd=settings.BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,
        )
        self.processes.append((name, process, out))
        return process

    def python(self, name: str, args: list[str], *, env: dict[str, str], log: bool = True) -> subprocess.Popen[bytes]:
        return self.start(name, [sys.executable, *args], env=env, log=log)

    def dead(self) -> list[str]:
        return [name for name, p, _ in self.processes if p.poll() is not None]

    def stop(self) -> None:
        for _, process, _ in reversed(self.processes):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _, process, out in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            if out:
                out.close()
        self.processes.clear()
