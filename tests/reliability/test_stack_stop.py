"""bin/serve as an operator runs it: what it writes is private, and Ctrl-C or SIGTERM stops it in seconds.

The stack is the real one (migrate, seed_demo, gunicorn, qcluster) on a SQLite file of its own, with
a provider that accepts the model call and never answers: a worker is busy in a call that would
last minutes and more tasks wait in the queue, which is when a graceful qcluster stop takes longest.
"""

import contextlib
import os
import signal
import socket
import stat
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 240
# bin/serve's STOP_GRACE_SECONDS, then its SIGKILL, and a margin for a loaded machine.
STOP_BOUND_SECONDS = 10 + 6


class SilentProvider:
    """Accepts connections on loopback and never answers: a model call that hangs."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/v1"
        self.called = threading.Event()
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(connection)
            self.called.set()

    def close(self):
        self.listener.close()
        for connection in self.connections:
            connection.close()


@dataclass
class Stack:
    process: subprocess.Popen
    var: Path
    output: Path
    signal: str

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module", params=["SIGTERM", "Ctrl-C"])
def stack(request, tmp_path_factory):
    # One stack per signal: the check of its files runs first, on the SIGTERM one, before it is stopped.
    tmp_path = tmp_path_factory.mktemp("stack")
    var, output = tmp_path / "var", tmp_path / "serve.out"
    provider, port = SilentProvider(), free_port()
    env = {
        **os.environ,
        "SHELFSIGHT_VAR_DIR": str(var),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "OPENAI_BASE_URL": provider.url,
        "OPENAI_API_KEY": "sk-test-stack-stop",
        "SHELFSIGHT_LLM_TIMEOUT": "280",
        "SHELFSIGHT_WORKERS": "1",
    }
    with output.open("w") as out:
        process = subprocess.Popen(
            [str(ROOT / "bin" / "serve"), "--products", "4"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own terminal-less session: the test plays the terminal
        )
    stack = Stack(process=process, var=var, output=output, signal=request.param)
    started, seen = time.monotonic(), []
    try:
        while not (provider.called.is_set() and answers(f"http://127.0.0.1:{port}/api/products/")):
            assert process.poll() is None, f"bin/serve exited early:\n{output.read_text()[-3000:]}"
            assert time.monotonic() - started < STARTUP_SECONDS, f"not up:\n{output.read_text()[-3000:]}"
            time.sleep(0.5)
        seen = stack.descendants()
        yield stack
    finally:
        for child in seen + stack.descendants():
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        if process.poll() is None:
            process.kill()
        process.wait()
        provider.close()


@pytest.mark.parametrize("stack", ["SIGTERM"], indirect=True)
def test_the_database_logs_and_demo_password_are_private_to_the_user(stack):
    assert stat.S_IMODE(stack.var.stat().st_mode) == 0o700
    for name in ("shelfsight.sqlite3", "seed-demo.log", "demo-admin-password"):
        assert stat.S_IMODE((stack.var / name).stat().st_mode) == 0o600, name


def test_ctrl_c_or_sigterm_stops_web_server_and_worker_within_seconds(stack):
    children = stack.descendants()
    assert any("qcluster" in " ".join(child.cmdline()) for child in children)
    assert any("gunicorn" in " ".join(child.cmdline()) for child in children)

    started = time.monotonic()
    if stack.signal == "Ctrl-C":
        os.killpg(stack.process.pid, signal.SIGINT)  # what a terminal sends its foreground group
    else:
        stack.process.send_signal(signal.SIGTERM)
    try:
        stack.process.wait(timeout=STOP_BOUND_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"bin/serve still running {STOP_BOUND_SECONDS} s after {stack.signal}")
    elapsed = time.monotonic() - started

    _, alive = psutil.wait_procs(children, timeout=1)
    left = [child for child in alive if child.status() != psutil.STATUS_ZOMBIE]
    assert left == [], f"left running after {elapsed:.1f} s: {[child.cmdline() for child in left]}"
    assert elapsed < STOP_BOUND_SECONDS
