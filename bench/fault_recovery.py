"""Images under the 30/10/5/5 provider fault mix, then the retry schedule: the full-size run
of tests/reliability/faults_under_load.py (the suite runs 200 images).

    .venv/bin/python bench/fault_recovery.py [--images 1000]

Prints what the first round left failed, how many analyses each retry round queued again, and
the requests per image against the policy's bound; the checks' pass/fail line ends the output.
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shelfsight-faults-") as workdir:
        environment = {
            **{key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}},
            "TEST_SQLITE_FILE": str(Path(workdir) / "faults.sqlite3"),
            "FAULT_IMAGES": str(arguments.images),
        }
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:randomly", "-p", "no:cacheprovider",
             "tests/reliability/faults_under_load.py"],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
        )
    for line in result.stdout.splitlines():
        line = line.strip(". ")
        if line.startswith(("after the first round", "requests per image", "failed after")) or " passed" in line:
            print(line)
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()
