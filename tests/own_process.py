"""Running a module of checks in a pytest process of its own, on a SQLite file.

Checks that drive many threads at the database need a file: the suite's in-memory SQLite
fails concurrent writers outright (its shared cache has no busy timeout), which a real
deployment, on a file in WAL mode, never sees.
"""

import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Names the SQLite file a pytest process uses as its test database (tests/conftest.py).
SQLITE_FILE_VARIABLE = "TEST_SQLITE_FILE"


def run_on_sqlite_file(module: str, *, database: Path, timeout: float) -> subprocess.CompletedProcess:
    """Run pytest on ``module`` (a path from the project root) with ``database`` as its test
    database, without DATABASE_URL and REDIS_URL; returns the finished process, output captured."""
    environment = {
        **{key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}},
        SQLITE_FILE_VARIABLE: str(database),
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", module],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
