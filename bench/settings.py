"""Settings for the benchmarks' processes: the project's own, less what would measure itself.

Benchmarks start servers and workers with DJANGO_SETTINGS_MODULE=bench.settings. A load test is
one client making every request, so the per-client rate limits are lifted; gunicorn is reached
over plain HTTP on loopback, so there is no HTTPS redirect; INFO logs would be written per
request. The knobs a benchmark compares come from BENCH_* variables, read only here.
"""

import os

from config.settings import *  # noqa: F403
from config.settings import CACHES, DATABASES, LOGGING, Q_CLUSTER, REST_FRAMEWORK

REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {scope: "100000000/min" for scope in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]},
}
SECURE_SSL_REDIRECT = False
LOGGING = {**LOGGING, "root": {**LOGGING["root"], "level": "WARNING"}}

if os.environ.get("BENCH_CONN_MAX_AGE"):  # seconds; 0 opens a connection per request or task
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ["BENCH_CONN_MAX_AGE"])
if os.environ.get("BENCH_CACHE_PREFIX"):  # a round's cached answers, dropped after it
    for _alias, _suffix in (("default", ""), ("throttle", "-throttle")):
        if "KEY_PREFIX" in CACHES[_alias]:
            CACHES[_alias]["KEY_PREFIX"] = os.environ["BENCH_CACHE_PREFIX"] + _suffix
if os.environ.get("BENCH_TASK_SAVE_LIMIT"):  # -1 keeps failed tasks only, sparing a prune per task
    Q_CLUSTER["save_limit"] = int(os.environ["BENCH_TASK_SAVE_LIMIT"])
if os.environ.get("BENCH_TASKS_SYNC"):  # run tasks inline, in the benchmark's own process
    Q_CLUSTER["sync"] = True
