"""Settings for qcluster workers whose lease on a running analysis is short, so that a test sees
a killed worker's analyses taken over within its time limits."""

from config.settings import *  # noqa: F403
from config.settings import Q_CLUSTER

TASK_TIMEOUT = 20
Q_CLUSTER = {**Q_CLUSTER, "timeout": TASK_TIMEOUT, "retry": TASK_TIMEOUT + 60}
