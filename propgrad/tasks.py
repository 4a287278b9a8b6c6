"""Run many independent heavy tasks: in this process, a local process pool, or a Dask cluster.

At the paper's scale the work is many independent tasks (editing sweeps over
hundreds of images, trainings, scoring thousands of checkpoints). They all go
through :func:`run_tasks`, which hands them to a :mod:`concurrent.futures`
executor:

* ``cluster=None, max_workers=1`` (the default): one after the other in this
  process (what notebooks at the smoke and demo profiles do; no start-up cost);
* ``cluster=None, max_workers=k > 1``: a local process pool (``spawn`` start
  method, one torch/BLAS thread per worker so workers do not fight over cores);
* ``cluster`` a Dask scheduler address (``"tcp://host:8786"``), a
  ``dask.distributed.Client`` or a Dask cluster object (``LocalCluster``,
  ``dask_jobqueue.SLURMCluster``, ...): the cluster's ``concurrent.futures``
  executor (``Client.get_executor``), with Dask resources (e.g.
  ``{"GPU": 1}``) so that each GPU worker runs one task at a time. A client
  made here from an address or a cluster object is closed when the run ends;
  a client passed in is left open. Needs the optional ``cluster`` extra
  (``pip install "propgrad[cluster]"``).

Tasks must be **idempotent**: a task function computes its result only when it
is not yet stored under its cache key, writes it atomically and returns it (or
where it is). So a run that died half-way, or a worker that was killed, is
simply run again: finished tasks return at once, and Dask retries the tasks of
a worker that died (up to ``distributed.scheduler.allowed-failures`` times,
3 by default, then the task fails with ``KilledWorker``).
:func:`cached_task` wraps a plain function into such a task, and
:func:`run_tasks` loads the results of finished :func:`cached_task` tasks here,
without submitting them at all.

**One cache folder for all.** Every task runs with the caller's cache root
(``$PROPGRAD_CACHE``, else ``~/.cache/propgrad``, as an absolute path), or
the ``cache_root`` given to :func:`run_tasks`: the executor sets
``PROPGRAD_CACHE`` in each worker process before the task runs (a worker keeps
the root of the last task it ran). On a cluster that folder must be on a file
system every worker mounts at the same path; otherwise results are stored
where the caller never looks and a rerun computes them again.

The first task that fails stops the run: the exception is raised with a note
naming the task and its item (``in task 4 of 10: f({'x': 3})``), and the tasks
not yet started are cancelled, as they are on ``KeyboardInterrupt``. Running
tasks finish (and store their results) in the background; rerun to resume.
"""

from __future__ import annotations

import concurrent.futures
import functools
import os
import pickle
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from propgrad.cache import CACHE_ENV, atomic_path, cache_dir, config_key

_REPR_LIMIT = 300


def _one_thread_worker(cache_root: str | None = None) -> None:
    """Initialiser of local worker processes: the cache root, one BLAS/torch thread each."""
    if cache_root is not None:
        os.environ[CACHE_ENV] = cache_root
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = "1"
    try:  # numpy was imported (with its BLAS pool) before this ran
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl is optional
        pass
    torch = sys.modules.get("torch")  # imported later, torch reads OMP_NUM_THREADS
    if torch is not None:
        torch.set_num_threads(1)


def _resolve_cache_root(cache_root: str | Path | None) -> str:
    """The absolute cache root the tasks use: ``cache_root``, else the caller's."""
    root = cache_dir() if cache_root is None else Path(cache_root).expanduser()
    return os.path.abspath(root)


class _InCacheRoot:
    """A task function that first points ``PROPGRAD_CACHE`` at the run's cache root.

    Picklable (by its class and the wrapped function), so it travels to Dask
    workers; Dask names the task after the wrapped function.
    """

    def __init__(self, function: Callable[..., Any], cache_root: str) -> None:
        self.function = function
        self.cache_root = cache_root
        self.__name__ = getattr(function, "__name__", type(function).__name__)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # set, not restored: tasks of one run share the root, and restoring it
        # could pull it from under a task running in another worker thread
        os.environ[CACHE_ENV] = self.cache_root
        try:
            Path(self.cache_root).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            _add_note(
                error,
                f"the cache folder {self.cache_root!r} cannot be created on this worker: "
                "put PROPGRAD_CACHE on a file system all workers mount at the same path, "
                "or pass run_tasks(..., cache_root=...) with the path the workers see",
            )
            raise
        return self.function(*args, **kwargs)


class _DaskExecutor(concurrent.futures.Executor):
    """``Client.get_executor`` plus the cache root, and closing the client it owns."""

    def __init__(
        self,
        client: Any,
        *,
        owned: bool,
        resources: Mapping[str, float] | None,
        cache_root: str,
    ) -> None:
        self.client = client
        self.cache_root = cache_root
        self._owned = owned
        options: dict[str, Any] = {"pure": False}
        if resources:
            options["resources"] = dict(resources)
        self._executor = client.get_executor(**options)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Submit ``fn(*args, **kwargs)`` to the cluster; return a concurrent future."""
        return self._executor.submit(_InCacheRoot(fn, self.cache_root), *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Wait for (or cancel) the submitted tasks; close the client if it was made here."""
        try:
            self._executor.shutdown(wait=wait and not cancel_futures)
        finally:
            if self._owned:
                self.client.close()


def _warn_missing_resources(client: Any, resources: Mapping[str, float]) -> None:
    """Warn when the cluster has workers but none offers ``resources`` (tasks would wait)."""
    try:
        try:
            workers = client.scheduler_info(n_workers=-1)["workers"]
        except TypeError:  # older dask.distributed: all workers by default
            workers = client.scheduler_info()["workers"]
    except Exception:  # only a diagnostic: never fail the run for it
        return
    if not workers:
        return  # workers are still starting (e.g. jobs in a queue)
    if not any(
        all(info.get("resources", {}).get(name, 0) >= amount for name, amount in resources.items())
        for info in workers.values()
    ):
        wanted = " ".join(f"{name}={amount:g}" for name, amount in resources.items())
        warnings.warn(
            f"no worker of the Dask cluster offers the resources {dict(resources)}: the "
            f"tasks wait until one that does joins (start workers with --resources {wanted!r})",
            RuntimeWarning,
            stacklevel=3,
        )


def make_executor(
    cluster: Any = None,
    *,
    max_workers: int = 1,
    resources: Mapping[str, float] | None = None,
    cache_root: str | Path | None = None,
) -> concurrent.futures.Executor | None:
    """Return a ``concurrent.futures`` executor, or ``None`` for in-process runs.

    The caller shuts the executor down (or uses it in a ``with`` block); for a
    cluster that also closes the client made here from an address or a cluster
    object, never a client passed in, nor the cluster itself.

    Parameters
    ----------
    cluster : str, dask.distributed.Client, Dask cluster object or None, optional
        A Dask scheduler address (e.g. ``"tcp://10.0.0.5:8786"``), a client, or
        a cluster object such as ``LocalCluster`` or
        ``dask_jobqueue.SLURMCluster``; ``None`` (or ``""``) runs locally.
    max_workers : int, optional
        Local worker processes when ``cluster`` is ``None`` (``1``: run in this
        process, no executor); ignored for a cluster.
    resources : mapping, optional
        Dask resources each task needs, e.g. ``{"GPU": 1}`` (workers started
        with ``--resources GPU=1`` then run one task at a time). A warning says
        so when the cluster has workers and none offers them.
    cache_root : str or Path, optional
        The cache root set as ``PROPGRAD_CACHE`` in the workers before each
        task (default: this process's cache root, as an absolute path).

    Returns
    -------
    concurrent.futures.Executor or None

    Raises
    ------
    ImportError
        If a cluster is requested but ``dask.distributed`` is not installed
        (the message names the extra to install).
    """
    root = _resolve_cache_root(cache_root)
    if cluster is None or (isinstance(cluster, str) and not cluster.strip()):
        if int(max_workers) <= 1:
            return None
        import multiprocessing

        return concurrent.futures.ProcessPoolExecutor(
            max_workers=int(max_workers),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_one_thread_worker,
            initargs=(root,),
        )
    try:
        from dask.distributed import Client
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ImportError(
            "running on a cluster needs dask.distributed: pip install 'propgrad[cluster]'"
        ) from error
    owned = not isinstance(cluster, Client)
    if owned:
        try:
            address = cluster.strip() if isinstance(cluster, str) else cluster
            client = Client(address, set_as_default=False)
        except OSError as error:
            _add_note(error, f"could not connect to the Dask scheduler {cluster!r}")
            raise
    else:
        client = cluster
    try:
        if resources:
            _warn_missing_resources(client, resources)
        return _DaskExecutor(client, owned=owned, resources=resources, cache_root=root)
    except BaseException:
        if owned:
            client.close()
        raise


def _add_note(error: BaseException, note: str) -> None:
    """Attach ``note`` to ``error`` (shown under its traceback; Python 3.11+)."""
    if hasattr(error, "add_note"):
        error.add_note(note)


def _describe(function: Any, item: Any, index: int, total: int) -> str:
    text = repr(item)
    if len(text) > _REPR_LIMIT:
        text = text[: _REPR_LIMIT - 3] + "..."
    name = getattr(function, "__name__", type(function).__name__)
    return f"in task {index + 1} of {total}: {name}({text})"


@contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    """Set an environment variable for the block, then restore it."""
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def run_tasks(
    function: Callable[[Any], Any],
    items: Iterable[Any],
    *,
    cluster: Any = None,
    max_workers: int = 1,
    resources: Mapping[str, float] | None = None,
    cache_root: str | Path | None = None,
    progress: bool = True,
    desc: str = "tasks",
) -> list[Any]:
    """Apply ``function`` to every item, in order, on the chosen executor.

    Finished :func:`cached_task` tasks are loaded here and not submitted, so
    rerunning a completed run needs no workers (nor a reachable cluster).

    Parameters
    ----------
    function : callable
        A module-level (picklable) function of one argument, importable by the
        workers; it should be idempotent (see the module docstring and
        :func:`cached_task`).
    items : iterable
        The tasks' arguments (picklable).
    cluster, max_workers, resources
        Where to run (see :func:`make_executor`).
    cache_root : str or Path, optional
        The cache root the tasks use, on every worker (default: this process's
        ``$PROPGRAD_CACHE`` or ``~/.cache/propgrad``). On a cluster it must be
        a shared folder; pass the path the workers see if they mount it
        elsewhere.
    progress : bool, optional
        A progress bar, shown when standard error is a terminal.
    desc : str, optional
        Its label.

    Returns
    -------
    list
        The results in the order of ``items``.

    Raises
    ------
    Exception
        The first exception a task raised, with a note naming the task and its
        item; tasks not yet started are cancelled (finished ones stay cached).
    KeyboardInterrupt
        After cancelling the tasks not yet started.
    """
    items = list(items)
    root = _resolve_cache_root(cache_root)
    results: list[Any] = [None] * len(items)
    pending = list(range(len(items)))
    if isinstance(function, cached_task):
        pending = []
        for index, item in enumerate(items):
            path = function.path(item, root=root)
            if path.is_file():
                results[index] = function.load(path)
            else:
                pending.append(index)
    bar = None
    if progress and items:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=len(items),
            initial=len(items) - len(pending),
            desc=desc,
            unit="task",
            disable=None,
        )
    try:
        if not pending:
            return results
        executor = make_executor(
            cluster,
            max_workers=min(int(max_workers), len(pending)),
            resources=resources,
            cache_root=root,
        )
        if executor is None:
            environment = _environment(CACHE_ENV, root) if cache_root is not None else nullcontext()
            with environment:
                for index in pending:
                    try:
                        results[index] = function(items[index])
                    except Exception as error:
                        _add_note(error, _describe(function, items[index], index, len(items)))
                        raise
                    if bar is not None:
                        bar.update()
            return results
        futures: dict[concurrent.futures.Future, int] = {}
        try:
            for index in pending:
                futures[executor.submit(function, items[index])] = index
            for future in concurrent.futures.as_completed(futures):
                index = futures[future]
                error = future.exception()
                if error is not None:
                    _add_note(error, _describe(function, items[index], index, len(items)))
                    raise error
                results[index] = future.result()
                if bar is not None:
                    bar.update()
        except BaseException:
            for future in futures:
                future.cancel()
            executor.shutdown(wait=False, cancel_futures=True)
            raise
        executor.shutdown(wait=True)
        return results
    finally:
        if bar is not None:
            bar.close()


class cached_task:  # noqa: N801 - used like a function decorator
    """Make a function idempotent: its result is stored under the key of its argument.

    The wrapped function takes one JSON-describable argument (a dict of plain
    values is typical); the result is pickled to
    ``<cache>/tasks/<name>/<config_key(argument)>.pkl`` with an atomic rename,
    and a later call with an equal argument loads it instead of computing.
    ``<cache>`` is the cache root of the process that runs the task, which
    :func:`run_tasks` sets to the caller's on every worker. Wrapped functions
    stay picklable (they are looked up by module and name), so they can be
    sent to process pools and Dask workers; their module must be importable
    there (not a script's ``__main__``).

    The key depends on the argument only: when the function's code changes in a
    way that changes results, put a version into the argument.

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

    def path(self, argument: Any, *, root: str | Path | None = None) -> Path:
        """Where the result for ``argument`` is (or will be) stored.

        Parameters
        ----------
        argument : object
            The task's argument.
        root : str or Path, optional
            The cache root (default: this process's).

        Returns
        -------
        Path
        """
        key = config_key({"argument": argument})
        return cache_dir("tasks", self.name, root=root) / f"{key}.pkl"

    def done(self, argument: Any, *, root: str | Path | None = None) -> bool:
        """Whether the result for ``argument`` is stored (see :meth:`path`)."""
        return self.path(argument, root=root).is_file()

    @staticmethod
    def load(path: str | Path) -> Any:
        """Load a stored result."""
        with Path(path).open("rb") as handle:
            return pickle.load(handle)

    def __call__(self, argument: Any) -> Any:
        """Return the stored result for ``argument``, computing and storing it if needed."""
        path = self.path(argument)
        if path.is_file():
            return self.load(path)
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
