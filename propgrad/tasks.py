"""Run many independent heavy tasks: in this process, a local process pool, or a Dask cluster.

At the paper's scale the work is many independent tasks (editing sweeps over
hundreds of images, trainings, scoring thousands of checkpoints). They all go
through :func:`run_tasks`, which hands them to a :mod:`concurrent.futures`
executor:

* ``cluster=None, max_workers=1`` (the default): one after the other in this
  process (what notebooks at the smoke and demo profiles do; no start-up cost);
* ``cluster=None, max_workers=k > 1``: a local process pool (``spawn`` start
  method, one torch thread per worker so workers do not fight over cores);
* ``cluster="tcp://host:8786"`` (a scheduler address) or a
  ``dask.distributed.Client``: the cluster's ``concurrent.futures`` executor
  (``Client.get_executor``), with Dask resources (e.g. ``{"GPU": 1}``) so that
  each GPU worker runs one task at a time. Needs the optional ``cluster`` extra
  (``pip install "propgrad[cluster]"``).

Tasks must be **idempotent**: a task function computes its result only when it
is not yet stored under its cache key, writes it atomically and returns it (or
where it is). So a run that died half-way, or a worker that was killed, is
simply run again: finished tasks return at once, and the cluster retries the
lost ones. :func:`cached_task` wraps a plain function into such a task.
"""

from __future__ import annotations

import functools
import os
import pickle
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from propgrad.cache import atomic_path, cache_dir, config_key


def _one_thread_worker() -> None:
    """Initialiser of local worker processes: one BLAS/torch thread each."""
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch is optional for the core
        pass


def make_executor(
    cluster: Any = None, *, max_workers: int = 1, resources: Mapping[str, float] | None = None
) -> Any:
    """Return a ``concurrent.futures``-style executor, or ``None`` for in-process runs.

    Parameters
    ----------
    cluster : str, dask.distributed.Client or None, optional
        A Dask scheduler address (e.g. ``"tcp://10.0.0.5:8786"``) or a client;
        ``None`` runs locally.
    max_workers : int, optional
        Local worker processes (``1``: run in this process, no executor).
    resources : mapping, optional
        Dask resources each task needs, e.g. ``{"GPU": 1}`` (workers started
        with ``--resources GPU=1`` then run one task at a time).

    Returns
    -------
    concurrent.futures.Executor or None

    Raises
    ------
    ImportError
        If a cluster is requested but ``dask.distributed`` is not installed
        (the message names the extra to install).
    """
    if cluster is None:
        if int(max_workers) <= 1:
            return None
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        return ProcessPoolExecutor(
            max_workers=int(max_workers),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_one_thread_worker,
        )
    try:
        from dask.distributed import Client
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ImportError(
            "running on a cluster needs dask.distributed: pip install 'propgrad[cluster]'"
        ) from error
    client = cluster if isinstance(cluster, Client) else Client(cluster)
    options = {"resources": dict(resources)} if resources else {}
    return client.get_executor(pure=False, **options)


def run_tasks(
    function: Callable[[Any], Any],
    items: Iterable[Any],
    *,
    cluster: Any = None,
    max_workers: int = 1,
    resources: Mapping[str, float] | None = None,
    progress: bool = True,
    desc: str = "tasks",
) -> list[Any]:
    """Apply ``function`` to every item, in order, on the chosen executor.

    Parameters
    ----------
    function : callable
        A module-level (picklable) function of one argument; it should be
        idempotent (see the module docstring and :func:`cached_task`).
    items : iterable
        The tasks' arguments (picklable).
    cluster, max_workers, resources
        Where to run (see :func:`make_executor`).
    progress : bool, optional
        Progress bar on a terminal.
    desc : str, optional
        Its label.

    Returns
    -------
    list
        The results in the order of ``items``.

    Raises
    ------
    Exception
        The first exception a task raised (after the others were submitted;
        their finished results stay cached).
    """
    items = list(items)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(items), desc=desc, unit="task", disable=None)
    executor = make_executor(cluster, max_workers=max_workers, resources=resources)
    try:
        if executor is None:
            results = []
            for item in items:
                results.append(function(item))
                if bar is not None:
                    bar.update()
            return results
        from concurrent.futures import as_completed

        futures = [executor.submit(function, item) for item in items]
        for _ in as_completed(futures):
            if bar is not None:
                bar.update()
        return [f.result() for f in futures]
    finally:
        if bar is not None:
            bar.close()
        if executor is not None and cluster is None:
            executor.shutdown()


class cached_task:  # noqa: N801 - used like a function decorator
    """Make a function idempotent: its result is stored under the key of its argument.

    The wrapped function takes one JSON-describable argument (a dict of plain
    values is typical); the result is pickled to
    ``<cache>/tasks/<name>/<config_key(argument)>.pkl`` with an atomic rename,
    and a later call with an equal argument loads it instead of computing.
    Wrapped functions stay picklable (they are looked up by module and name),
    so they can be sent to process pools and Dask workers.

    Parameters
    ----------
    function : callable
        A module-level function of one argument.

    Examples
    --------
    >>> @cached_task
    ... def square(job):
    ...     return job["x"] ** 2
    >>> square({"x": 3})  # doctest: +SKIP
    9
    """

    def __init__(self, function: Callable[[Any], Any]) -> None:
        self.function = function
        self.name = f"{function.__module__}.{function.__qualname__}"
        functools.update_wrapper(self, function)

    def path(self, argument: Any) -> Path:
        """Where the result for ``argument`` is (or will be) stored."""
        return cache_dir("tasks", self.name) / f"{config_key({'argument': argument})}.pkl"

    def done(self, argument: Any) -> bool:
        """Whether the result for ``argument`` is stored."""
        return self.path(argument).is_file()

    def __call__(self, argument: Any) -> Any:
        """Return the stored result for ``argument``, computing and storing it if needed."""
        path = self.path(argument)
        if path.is_file():
            with path.open("rb") as handle:
                return pickle.load(handle)
        result = self.function(argument)
        with atomic_path(path) as tmp, tmp.open("wb") as handle:
            pickle.dump(result, handle, protocol=pickle.HIGHEST_PROTOCOL)
        return result

    def __reduce__(self) -> Any:
        import importlib

        module = importlib.import_module(self.function.__module__)
        if getattr(module, self.function.__name__, None) is self:
            return (_lookup, (self.function.__module__, self.function.__name__))
        return (cached_task, (self.function,))


def _lookup(module: str, name: str) -> Any:
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = ["cached_task", "make_executor", "run_tasks"]
