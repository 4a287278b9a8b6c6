"""Named parameter sets ("profiles") for the notebooks.

Every notebook has one ``parameters`` cell with plain literals. Its ``profile``
names a set of defaults (``smoke``, ``demo`` or ``paper``); any other parameter
left at ``None`` takes the profile's value, and any parameter given explicitly
(for example with ``papermill -p n_permutations 1000``) wins over the profile.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

PROFILE_NAMES = ("smoke", "demo", "paper")


def resolve_profile(
    profiles: Mapping[str, Mapping[str, Any]],
    profile: str,
    namespace: Mapping[str, Any] | None = None,
    **overrides: Any,
) -> SimpleNamespace:
    """Merge a named profile with explicit overrides.

    Parameters
    ----------
    profiles : mapping
        Profile name -> mapping of parameter name -> value.
    profile : str
        The profile to use; must be a key of ``profiles``.
    namespace : mapping, optional
        Where a notebook's parameters live (pass ``globals()``): every name a
        profile defines is taken from it as an override. Saves listing each
        parameter twice.
    **overrides
        Explicit parameter values. ``None`` means "use the profile's value".
        A name that no profile defines is an error, so typos do not pass
        silently.

    Returns
    -------
    types.SimpleNamespace
        The resolved parameters, plus ``profile`` (the profile's name).

    Raises
    ------
    ValueError
        If ``profile`` is unknown or an override names an unknown parameter.

    Examples
    --------
    >>> profiles = {"smoke": {"k": 100}, "demo": {"k": 10_000}}
    >>> resolve_profile(profiles, "smoke", k=None).k
    100
    >>> resolve_profile(profiles, "smoke", k=5).k
    5
    >>> resolve_profile(profiles, "demo", {"k": None, "other": 1}).k
    10000
    """
    if profile not in profiles:
        raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(profiles)}")
    values = dict(profiles[profile])
    known = set().union(*(p.keys() for p in profiles.values()))
    if namespace is not None:
        overrides = {**{k: namespace[k] for k in known if k in namespace}, **overrides}
    for name, value in overrides.items():
        if name not in known:
            raise ValueError(
                f"parameter {name!r} is not defined by any profile; known: {sorted(known)}"
            )
        if value is not None:
            values[name] = value
    return SimpleNamespace(profile=profile, **values)
