"""Tiny task functions for ``tests/test_tasks.py``.

They live in an importable module (not in the test file) because process-pool
and Dask workers look task functions up by module and name.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from propgrad.tasks import cached_task


def square(x):
    return x * x


def where(_):
    """The worker's process id and cache root."""
    return os.getpid(), os.environ.get("PROPGRAD_CACHE")


def record(folder, name):
    """Leave one file per execution in ``folder``."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / f"{name}-{uuid.uuid4().hex}").write_text(str(os.getpid()))


def executions(folder, name=None):
    """How many times a task recorded itself (one with ``name``, or all)."""
    pattern = "*" if name is None else f"{name}-*"
    return len(list(Path(folder).glob(pattern))) if Path(folder).is_dir() else 0


@cached_task
def counted(job):
    """A cached task that records each execution."""
    record(job["folder"], job["x"])
    time.sleep(job.get("sleep", 0.0))
    return {"x": job["x"], "double": 2 * job["x"]}


def kill_once(job):
    """Kill this worker process the first time the victim runs; else return a result."""
    marker = Path(job["folder"]) / f"killed-{job['x']}"
    if job["x"] == job["victim"] and not marker.exists():
        marker.write_text(str(os.getpid()))
        os._exit(1)
    return job["x"] * 10, os.getpid()


def fail_on(job):
    if job["x"] == job["bad"]:
        raise ValueError(f"bad item {job['x']}")
    return job["x"]
