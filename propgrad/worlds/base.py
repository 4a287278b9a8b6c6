"""The World protocol: what every toy world offers, and how to add a fourth.

A toy world renders images from parameter records (one dataclass per image)
and knows which of the parameters are the continuous semantic properties a
study intervenes on. Every world is an instance of a subclass of
:class:`World` and answers the same six questions, so code that measures,
trains or plots can take any world:

``world.classes``
    The class names, by label index (a tuple of str).
``world.properties``
    Name -> :class:`Property` (its range and a readable axis label): the
    continuous, intervenable properties.
``world.sample(n, seed=0, **conditions)``
    A list of ``n`` parameter records. Without a ``label`` condition the
    classes alternate (label 0, 1, 0, 1, ...). ``world.conditions`` lists the
    conditions it accepts: always ``label`` (an index or a class name) and
    every property (a number fixes the property, a ``(low, high)`` pair draws
    it uniformly from that sub-range), plus the world's own (documented in
    its class); an unknown condition is a ``ValueError``. The same seed
    gives the same records.
``world.render(params, size=64)``
    Float32 images ``(n, size, size, 3)`` in [0, 1]: exactly the world's
    uint8 renders divided by 255, so a model sees the same pixels either way.
``world.intervene(params, property, values, size=64, **options)``
    The exact intervention ``do(property := v)``, one :class:`~propgrad.sweep.Sweep`
    per record: ``sweep.grid`` is ``values`` and the frame at ``v`` is the
    record rendered with that property set to ``v`` (bit for bit, whatever
    else is in ``values``), every other parameter and all noise held fixed.
    ``values`` must be strictly increasing and inside the property's range;
    a whole number ``k`` means ``k`` evenly spaced values over the range.
    Options are world-specific (the skin-lesion world's ``patch=``).
``world.split(name, preset="demo", seed=None)``
    Rendered training and test data as a :class:`Split` (one shared type;
    a world may return a subclass with extra helpers).

Conventions shared by all worlds
--------------------------------
* **Records in, one result per record out.** ``params`` is a sequence of
  records or a single record. :meth:`World.render` always returns a batch
  (a single record gives shape ``(1, size, size, 3)``);
  :meth:`World.intervene` returns a list of sweeps for a sequence and the
  one sweep for a single record.
* **A property is a field.** Every record returned by ``sample`` has each
  property of ``world.properties`` as a dataclass field and a ``label``
  attribute, so ``dataclasses.replace(record, **{name: v})`` *is*
  ``do(name := v)``: ``world.render`` of it is the frame at ``v`` of
  ``world.intervene(record, name, values)``.
* **Worlds are numpy only.** A world imports no model, training or torch
  code (presets may hold model settings, and a world's module may offer a
  training helper that imports them inside the function).

Adding a fourth world
---------------------
1. Write the parameter record: a dataclass with a ``label`` (attribute or
   property), one float field per property, ``to_dict()``, and a renderer
   ``render_batch(records, size) -> uint8 (n, size, size, 3)`` that is a
   pure function of the records (draw all noise from a per-record seed, in
   a fixed order that does not depend on the property values; then
   re-rendering with one field changed is an exact intervention). The
   drawing helpers in :mod:`propgrad.worlds.drawing` give smooth masks,
   coverage and value noise.
2. Subclass :class:`World`: set ``name``, ``classes``, ``properties``
   (e.g. with :func:`unit_properties`), ``params_type``, ``splits``,
   ``presets`` (and ``extra_conditions`` if ``sample`` takes more than the
   label and the properties), set ``_render_batch =
   staticmethod(render_batch)``, and implement ``_sample`` (draw records
   for the given labels; :meth:`World._set_properties` applies the property
   conditions) and ``_make_split`` (return a :class:`Split`, e.g. with
   :meth:`Split.from_params`). ``intervene`` works out of the box through
   :func:`propgrad.worlds.exact.exact_sweep`; the test module has a
   thirty-line example world.
3. Register it: add ``"name": "module:ATTRIBUTE"`` to :data:`BUILTIN_WORLDS`
   below (loaded on first use), or call ``WORLDS.register(world)`` at run
   time.
4. Run ``tests/test_world_protocol.py``: it checks the contract (exactness,
   determinism, grids, shapes, visible properties, splits, sampling, errors)
   over every registered world.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, is_dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np

if TYPE_CHECKING:
    from propgrad.sweep import Sweep

_S = TypeVar("_S", bound="Split")


@dataclass(frozen=True)
class Property:
    """A continuous, intervenable property of a world.

    Parameters
    ----------
    name : str
        The field of the parameter record that holds it.
    low, high : float
        Its range (``low < high``).
    label : str
        A readable axis label (the grid name of its sweeps).
    circular : bool, optional
        Whether the range wraps around (a hue): then ``low`` and ``high``
        render the same image.
    """

    name: str
    low: float
    high: float
    label: str
    circular: bool = False

    def __post_init__(self) -> None:
        if not float(self.low) < float(self.high):
            raise ValueError(f"{self.name}: low ({self.low}) must be below high ({self.high})")

    def check(self, value: Any) -> float:
        """Return ``value`` as a float, or raise a ``ValueError`` if it is outside the range."""
        value = float(value)
        if not self.low <= value <= self.high:
            raise ValueError(f"{self.name} must lie in [{self.low:g}, {self.high:g}], got {value}")
        return value

    def draw(self, spec: Any, rng: np.random.Generator) -> float:
        """Turn a sampling condition into a value.

        Parameters
        ----------
        spec : float or (float, float)
            A value (returned as it is, checked), or a ``(low, high)`` pair
            inside the range (a uniform draw from it).
        rng : numpy.random.Generator
            Source of the draw.

        Returns
        -------
        float
            The value.

        Raises
        ------
        ValueError
            For a value or pair outside the range, or a malformed pair.
        """
        if isinstance(spec, (int, float, np.number)) and not isinstance(spec, bool):
            return self.check(spec)
        bounds = np.asarray(spec, dtype=float)
        if bounds.shape != (2,) or not bounds[0] <= bounds[1]:
            raise ValueError(
                f"a condition on {self.name} is a value or a (low, high) pair, got {spec!r}"
            )
        lo, hi = self.check(bounds[0]), self.check(bounds[1])
        return float(rng.uniform(lo, hi))

    def grid(self, values: Sequence[float] | np.ndarray | int) -> np.ndarray:
        """Intervention values: the given ones, or ``values`` evenly spaced over the range.

        Parameters
        ----------
        values : sequence of float or int
            Strictly increasing values inside the range, or how many evenly
            spaced ones (at least 2).

        Returns
        -------
        ndarray
            1-D float64 array.

        Raises
        ------
        ValueError
            For fewer than 2 evenly spaced values, an empty or not 1-D
            sequence, non-finite values or values outside the range.
        """
        if isinstance(values, (int, np.integer)) and not isinstance(values, bool):
            if values < 2:
                raise ValueError(f"need at least 2 values, got {values}")
            return np.linspace(self.low, self.high, int(values))
        grid = np.asarray(values, dtype=float)
        if grid.ndim != 1 or grid.size == 0 or not np.all(np.isfinite(grid)):
            raise ValueError(f"{self.name} values must be a non-empty 1-D sequence of numbers")
        if grid.min() < self.low or grid.max() > self.high:
            raise ValueError(f"{self.name} values must lie in [{self.low:g}, {self.high:g}]")
        return grid


def unit_properties(
    labels: Mapping[str, str], circular: Sequence[str] = ()
) -> Mapping[str, Property]:
    """Properties on [0, 1] from a mapping name -> axis label (read-only, in order).

    Parameters
    ----------
    labels : mapping
        Property name -> readable axis label.
    circular : sequence of str, optional
        The properties whose range wraps around.

    Returns
    -------
    mapping
        Name -> :class:`Property`.
    """
    return MappingProxyType(
        {k: Property(k, 0.0, 1.0, label, k in circular) for k, label in labels.items()}
    )


@dataclass
class Split:
    """Training and test data of one split of a world.

    Attributes
    ----------
    name : str
        The split (a name in the world's ``splits``).
    x_train, x_test : ndarray
        uint8 images (N, H, W, 3).
    y_train, y_test : ndarray
        int64 labels (indices into ``classes``).
    params_train, params_test : list
        The parameter record of every image, for re-rendering and
        interventions.
    classes : tuple of str
        Class names by label (keyword only).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    params_train: list[Any]
    x_test: np.ndarray
    y_test: np.ndarray
    params_test: list[Any]
    classes: tuple[str, ...] = field(default=(), kw_only=True)

    #: Key of :meth:`counts` for a part and a class name.
    _COUNT_KEY: ClassVar[str] = "{part} {name}"

    @classmethod
    def from_params(
        cls: type[_S],
        name: str,
        params_train: list[Any],
        params_test: list[Any],
        render: Callable[[list[Any]], np.ndarray],
        **fields: Any,
    ) -> _S:
        """Render both parts and label them with each record's ``label``.

        Parameters
        ----------
        name : str
            The split's name.
        params_train, params_test : list
            The records of each part.
        render : callable
            ``render(records)`` -> uint8 images (N, H, W, 3).
        **fields
            Further fields of ``cls`` (e.g. ``classes``).

        Returns
        -------
        Split
            An instance of ``cls``.
        """
        return cls(
            name=name,
            x_train=render(params_train),
            y_train=np.array([p.label for p in params_train], dtype=np.int64),
            params_train=params_train,
            x_test=render(params_test),
            y_test=np.array([p.label for p in params_test], dtype=np.int64),
            params_test=params_test,
            **fields,
        )

    def _params(self, part: str) -> list[Any]:
        if part not in ("train", "test"):
            raise ValueError(f"part must be 'train' or 'test', got {part!r}")
        return self.params_train if part == "train" else self.params_test

    def counts(self) -> dict[str, int]:
        """Images per part and class, e.g. ``{"train nevus": 150, ...}``."""
        if self.classes:
            names = dict(enumerate(self.classes))
        else:
            seen = sorted(set(self.y_train.tolist()) | set(self.y_test.tolist()))
            names = {int(label): str(label) for label in seen}
        return {
            self._COUNT_KEY.format(part=part, name=name): int(
                (getattr(self, f"y_{part}") == label).sum()
            )
            for part in ("train", "test")
            for label, name in names.items()
        }

    def values(self, name: str, part: str = "train") -> np.ndarray:
        """Return one parameter (e.g. a property) of every ``"train"`` or ``"test"`` image."""
        return np.array([getattr(p, name) for p in self._params(part)], dtype=float)


def copy_preset(presets: Mapping[str, Mapping[str, Any]], preset: Any) -> dict[str, Any]:
    """A deep copy of a named preset, or of a dict given in its place (safe to modify).

    Parameters
    ----------
    presets : mapping
        Preset name -> settings (a world's ``WORLD_PRESETS``).
    preset : str or mapping
        A key of ``presets``, or a dict of the same layout.

    Returns
    -------
    dict

    Raises
    ------
    ValueError
        For an unknown preset name (the message lists the known ones).
    """
    import copy

    if isinstance(preset, str):
        if preset not in presets:
            raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(presets)}")
        preset = presets[preset]
    return copy.deepcopy(dict(preset))


def is_record(params: Any) -> bool:
    """Whether ``params`` is one parameter record (a dataclass instance), not a sequence."""
    return is_dataclass(params) and not isinstance(params, type)


class World:
    """The World protocol and its shared implementation.

    Every world is an instance of a subclass. The public methods below are
    the protocol (see the module docstring for the contract); a subclass
    sets the class attributes, ``_render_batch``, and implements ``_sample``
    and ``_make_split``. It may override ``_sweep`` (how one record is
    intervened on) and ``_metadata`` (the world's own sweep metadata).

    Attributes
    ----------
    name : str
        The world's key in :data:`WORLDS`.
    classes : tuple of str
        Class names by label index.
    properties : mapping
        Property name -> :class:`Property`.
    params_type : type
        The parameter record's class.
    splits : tuple of str
        Names accepted by :meth:`split`.
    presets : tuple of str
        Preset names accepted by :meth:`split` (a dict of the same layout
        works too).
    extra_conditions : mapping
        The world's own sampling conditions beyond ``label`` and the
        properties: name -> what it does.
    """

    name: ClassVar[str]
    classes: ClassVar[tuple[str, ...]]
    properties: ClassVar[Mapping[str, Property]]
    params_type: ClassVar[type]
    splits: ClassVar[tuple[str, ...]]
    presets: ClassVar[tuple[str, ...]]
    extra_conditions: ClassVar[Mapping[str, str]] = MappingProxyType({})

    #: ``render_batch(records, size)`` -> uint8 (n, size, size, 3); set with
    #: ``staticmethod`` in a subclass.
    _render_batch: Callable[..., np.ndarray]

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.name!r}: classes {list(self.classes)}, "
            f"properties {list(self.properties)}>"
        )

    @property
    def conditions(self) -> Mapping[str, str]:
        """The conditions :meth:`sample` accepts: name -> what it does."""
        out = {
            "label": f"the class, an index or one of {list(self.classes)} (default: alternating)"
        }
        for name, prop in self.properties.items():
            out[name] = f"{prop.label}: a value, or a (low, high) range to draw from"
        return MappingProxyType({**out, **self.extra_conditions})

    # -- the protocol ---------------------------------------------------------

    def sample(self, n: int, seed: Any = 0, **conditions: Any) -> list[Any]:
        """Draw ``n`` parameter records.

        Parameters
        ----------
        n : int
            Number of records.
        seed : int or sequence of int, optional
            Seed of ``numpy.random.default_rng``; the same seed and
            conditions give the same records.
        **conditions
            Names of :attr:`conditions`: ``label`` (index or class name; by
            default the classes alternate 0, 1, 0, ...), a property (a value,
            or a ``(low, high)`` pair drawn uniformly), and the world's
            :attr:`extra_conditions`.

        Returns
        -------
        list
            ``n`` records of :attr:`params_type`.

        Raises
        ------
        ValueError
            For a negative ``n``, an unknown condition or a bad value.
        """
        if isinstance(n, bool) or int(n) != n or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        unknown = sorted(set(conditions) - set(self.conditions))
        if unknown:
            raise ValueError(
                f"unknown condition(s) {unknown} for the {self.name} world; it accepts "
                f"{sorted(self.conditions)}"
            )
        label = conditions.pop("label", None)
        if label is None:
            labels = [i % len(self.classes) for i in range(int(n))]
        else:
            labels = [self.label_index(label)] * int(n)
        return self._sample(labels, np.random.default_rng(seed), conditions)

    def render(self, params: Any, size: int = 64) -> np.ndarray:
        """Render records as float images.

        Parameters
        ----------
        params : record or sequence of records
            What to draw (a single record counts as a batch of one).
        size : int, optional
            Width and height in pixels.

        Returns
        -------
        ndarray
            float32 (n, size, size, 3) in [0, 1]: the world's uint8 renders
            divided by 255.
        """
        images = self._render_batch(self._records(params), int(size))
        return images.astype(np.float32) / np.float32(255.0)

    def intervene(
        self,
        params: Any,
        property: str,  # noqa: A002 - the natural name for the intervened property
        values: Sequence[float] | np.ndarray | int,
        *,
        size: int = 64,
        **options: Any,
    ) -> Sweep | list[Sweep]:
        """Exact intervention ``do(property := v)`` for every ``v`` in ``values``.

        Parameters
        ----------
        params : record or sequence of records
            The scenes to intervene on.
        property : str
            A key of :attr:`properties`.
        values : sequence of float or int
            Strictly increasing values inside the property's range, or how
            many evenly spaced ones over the range.
        size : int, optional
            Image size in pixels.
        **options
            World-specific options (see the world's class); none by default.

        Returns
        -------
        Sweep or list of Sweep
            One sweep for a single record, a list for a sequence; each has
            ``grid`` = the values and uint8 frames.

        Raises
        ------
        ValueError
            For an unknown property or option, bad values or no records.
        """
        grid = self._property(property).grid(values)
        records = self._records(params)
        if not records:
            raise ValueError("no records to intervene on")
        sweeps = [self._sweep(p, property, grid, int(size), **options) for p in records]
        return sweeps[0] if is_record(params) else sweeps

    def split(
        self,
        name: str,
        preset: str | Mapping[str, Any] = "demo",
        *,
        seed: int | None = None,
        **options: bool,
    ) -> Split:
        """Render one split of the world.

        Parameters
        ----------
        name : str
            One of :attr:`splits`.
        preset : str or dict, optional
            One of :attr:`presets`, or a dict of the same layout (it fixes the
            image size, the counts, the seed and the world settings).
        seed : int, optional
            Replaces the preset's seed.
        **options
            ``test_only`` (skip the training part: its arrays are empty) and
            ``progress`` (show progress bars while rendering).

        Returns
        -------
        Split
            Images, labels and records of both parts.

        Raises
        ------
        ValueError
            For an unknown split or preset.
        """
        if name not in self.splits:
            raise ValueError(f"unknown split {name!r}; choose one of {list(self.splits)}")
        unknown = sorted(set(options) - {"test_only", "progress"})
        if unknown:
            raise ValueError(f"unknown option(s) {unknown}; split takes test_only and progress")
        return self._make_split(name, preset, seed, **options)

    # -- helpers ----------------------------------------------------------------

    def _property(self, name: str) -> Property:
        """Return the :class:`Property` called ``name`` (``ValueError`` if unknown)."""
        if name not in self.properties:
            raise ValueError(
                f"unknown property {name!r} of the {self.name} world; choose one of "
                f"{list(self.properties)}"
            )
        return self.properties[name]

    def label_index(self, label: Any) -> int:
        """Return a label index from an index or a class name (``ValueError`` if neither)."""
        if isinstance(label, str):
            if label not in self.classes:
                raise ValueError(f"unknown class {label!r}; choose one of {list(self.classes)}")
            return self.classes.index(label)
        if isinstance(label, bool) or int(label) != label or not 0 <= label < len(self.classes):
            raise ValueError(f"label must be in 0..{len(self.classes) - 1}, got {label!r}")
        return int(label)

    def _records(self, params: Any) -> list[Any]:
        records = [params] if is_record(params) else list(params)
        for p in records:
            if not isinstance(p, self.params_type):
                raise TypeError(
                    f"the {self.name} world takes {self.params_type.__name__} records, "
                    f"got {type(p).__name__}"
                )
        return records

    def _set_properties(
        self, records: list[Any], rng: np.random.Generator, conditions: Mapping[str, Any]
    ) -> list[Any]:
        """Apply the property conditions among ``conditions`` to every record, in order."""
        for name, spec in conditions.items():
            if name in self.properties:
                prop = self.properties[name]
                records = [replace(p, **{name: prop.draw(spec, rng)}) for p in records]
        return records

    def _metadata(self, record: Any) -> dict[str, Any]:
        """The world's own sweep metadata for a record."""
        return {"world": self.name, "class_name": self.classes[int(record.label)]}

    def _sweep(
        self,
        record: Any,
        property: str,  # noqa: A002 - the natural name for the intervened property
        grid: np.ndarray,
        size: int,
        **options: Any,
    ) -> Sweep:
        """Intervene on one record: re-render it once per value (the default)."""
        from propgrad.worlds.exact import exact_sweep

        if options:
            raise ValueError(
                f"the {self.name} world's intervene takes no options, got {sorted(options)}"
            )
        return exact_sweep(
            record,
            property,
            grid,
            lambda p, s: self._render_batch([p], s)[0],
            size=size,
            grid_names={k: v.label for k, v in self.properties.items()},
            metadata=self._metadata(record),
        )

    def _sample(
        self, labels: list[int], rng: np.random.Generator, conditions: dict[str, Any]
    ) -> list[Any]:
        """Draw one record per label, honouring ``conditions`` (``label`` removed)."""
        raise NotImplementedError

    def _make_split(self, name: str, preset: Any, seed: int | None, **options: bool) -> Split:
        """Render the split ``name`` of a preset (``seed`` replaces the preset's)."""
        raise NotImplementedError


class WorldRegistry(Mapping[str, Any]):
    """Name -> world, loading each world's module only when it is first asked for.

    Parameters
    ----------
    entries : mapping
        Name -> ``"module:ATTRIBUTE"`` of the world object.
    """

    def __init__(self, entries: Mapping[str, str]) -> None:
        self._entries = dict(entries)
        self._loaded: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded:
            if name not in self._entries:
                raise KeyError(f"unknown world {name!r}; choose one of {list(self)}")
            module, attribute = self._entries[name].split(":")
            self._loaded[name] = getattr(importlib.import_module(module), attribute)
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter({**self._entries, **self._loaded})

    def __len__(self) -> int:
        return len({**self._entries, **self._loaded})

    def __repr__(self) -> str:
        return f"WorldRegistry({list(self)})"

    def register(self, world: Any, *, replace: bool = False) -> Any:
        """Add a world object under its ``name``; returns it.

        Raises
        ------
        ValueError
            If the name is taken (pass ``replace=True`` to override) or the
            object is not a :class:`World`.
        """
        if not isinstance(world, World):
            raise ValueError(f"{world!r} is not a World (subclass propgrad.worlds.World)")
        if world.name in self and not replace:
            raise ValueError(f"a world named {world.name!r} is registered already")
        self._entries.pop(world.name, None)
        self._loaded[world.name] = world
        return world


#: Where each built-in world object lives (``"module:ATTRIBUTE"``); add a
#: fourth world here.
BUILTIN_WORLDS = {
    "cats_dogs": "propgrad.worlds.cats_dogs.world:WORLD",
    "skin_lesions": "propgrad.worlds.skin_lesions:WORLD",
    "portraits": "propgrad.worlds.portraits:WORLD",
}

#: Name -> world object (also ``propgrad.worlds.WORLDS``); each world's module
#: is imported when the world is first looked up.
WORLDS = WorldRegistry(BUILTIN_WORLDS)
