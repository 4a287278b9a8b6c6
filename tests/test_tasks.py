"""``propgrad.tasks`` on a real Dask ``LocalCluster``, a process pool and in process."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

import _task_functions as tf
import pytest

from propgrad.cache import cache_dir
from propgrad.tasks import make_executor, run_tasks

distributed = pytest.importorskip("dask.distributed")

# one cluster for the module: keep these tests on one pytest-xdist worker
pytestmark = pytest.mark.xdist_group("dask-cluster")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # a free port: never a warning about 8787
        silence_logs=logging.CRITICAL,
        resources={"GPU": 1},
    ) as local:
        yield local


@pytest.fixture(scope="module")
def client(cluster):
    with distributed.Client(cluster, set_as_default=False) as connected:
        yield connected


def _wait_for(condition, timeout=10.0):
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def test_results_equal_local_pool_and_cluster_in_order(cluster, client):
    items = [3, 1, 4, 1, 5, 9, 2, 6]
    expected = [x * x for x in items]
    assert run_tasks(tf.square, items, progress=False) == expected
    assert run_tasks(tf.square, items, max_workers=2, progress=False) == expected
    assert run_tasks(tf.square, items, cluster=client, progress=False) == expected
    assert run_tasks(tf.square, items, cluster=cluster, progress=False) == expected
    assert run_tasks(tf.square, items, cluster=cluster.scheduler_address, progress=False) == (
        expected
    )
    assert run_tasks(tf.square, [], cluster=cluster.scheduler_address, progress=False) == []


def test_clients_made_here_are_closed_and_given_ones_are_not(cluster, client):
    before = set(cluster.scheduler.clients)
    run_tasks(tf.square, range(3), cluster=cluster.scheduler_address, progress=False)
    run_tasks(tf.square, range(3), cluster=cluster, progress=False)
    assert _wait_for(lambda: set(cluster.scheduler.clients) == before)
    run_tasks(tf.square, range(3), cluster=client, progress=False)
    assert client.status == "running"
    assert cluster.status.name == "running"


def test_workers_use_the_callers_cache_root_or_the_given_one(client, tmp_path):
    caller = os.path.abspath(cache_dir())
    assert {root for _, root in run_tasks(tf.where, range(4), cluster=client, progress=False)} == {
        caller
    }
    given = str(tmp_path / "shared")
    for where in ({"cluster": client}, {"max_workers": 2}, {}):
        roots = run_tasks(tf.where, range(2), cache_root=given, progress=False, **where)
        assert {root for _, root in roots} == {given}, where
    assert os.environ.get("PROPGRAD_CACHE") != given  # restored after the in-process run


def test_a_finished_task_is_not_rerun(cluster, client, tmp_path):
    folder, root = tmp_path / "runs", tmp_path / "cache"
    jobs = [{"x": x, "folder": str(folder)} for x in range(5)]
    expected = [{"x": x, "double": 2 * x} for x in range(5)]
    assert run_tasks(tf.counted, jobs, cluster=client, cache_root=root, progress=False) == (
        expected
    )
    assert tf.executions(folder) == 5
    # the workers stored the results where the caller looks
    assert all(tf.counted.done(job, root=root) for job in jobs)
    address = cluster.scheduler_address
    assert run_tasks(tf.counted, jobs, cluster=address, cache_root=root, progress=False) == (
        expected
    )
    assert run_tasks(tf.counted, jobs, cache_root=root, progress=False) == expected
    assert tf.executions(folder) == 5
    # a lost result is computed again, and only that one
    tf.counted.path(jobs[2], root=root).unlink()
    assert run_tasks(tf.counted, jobs, cluster=client, cache_root=root, progress=False) == (
        expected
    )
    assert tf.executions(folder) == 6
    assert tf.executions(folder, 2) == 2


def test_a_killed_workers_task_is_retried(client, tmp_path):
    jobs = [{"x": x, "victim": 2, "folder": str(tmp_path)} for x in range(6)]
    results = run_tasks(tf.kill_once, jobs, cluster=client, progress=False)
    assert [value for value, _ in results] == [x * 10 for x in range(6)]
    killed_pid = int((tmp_path / "killed-2").read_text())
    assert results[2][1] != killed_pid  # it ran again, in another worker process
    assert _wait_for(lambda: len(client.scheduler_info()["workers"]) == 2, timeout=30)


@pytest.mark.parametrize("where", ["here", "pool", "cluster"])
def test_an_exception_names_the_item(where, client):
    jobs = [{"x": x, "bad": 3} for x in range(6)]
    options = {"here": {}, "pool": {"max_workers": 2}, "cluster": {"cluster": client}}[where]
    with pytest.raises(ValueError, match="bad item 3") as caught:
        run_tasks(tf.fail_on, jobs, progress=False, **options)
    notes = "\n".join(getattr(caught.value, "__notes__", []))
    assert "in task 4 of 6: fail_on(" in notes
    assert "'x': 3" in notes


def test_keyboard_interrupt_cancels_pending_tasks_and_a_rerun_resumes(cluster, tmp_path):
    folder, root = tmp_path / "runs", tmp_path / "cache"
    jobs = [{"x": x, "folder": str(folder), "sleep": 0.5} for x in range(12)]
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_tasks(
                tf.counted,
                jobs,
                cluster=cluster.scheduler_address,
                cache_root=root,
                progress=False,
            )
    finally:
        timer.cancel()
    time.sleep(1.5)  # the tasks running at the interrupt finish; no other starts
    assert tf.executions(folder) < len(jobs)
    results = run_tasks(tf.counted, jobs, cluster=cluster, cache_root=root, progress=False)
    assert results == [{"x": x, "double": 2 * x} for x in range(12)]
    assert tf.executions(folder) < 2 * len(jobs)


def test_gpu_resources(client):
    assert run_tasks(tf.square, range(4), cluster=client, resources={"GPU": 1}, progress=False) == [
        0,
        1,
        4,
        9,
    ]
    with pytest.warns(RuntimeWarning, match="no worker of the Dask cluster offers"):
        executor = make_executor(client, resources={"TPU": 1})
    executor.shutdown()
    assert make_executor(None) is None
