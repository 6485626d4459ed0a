"""Defaults every front door shares, so that ``ninelives run``, ``make bench`` and the
pytest plugin mean the same thing by "a sweep"."""

#: seeds in a ``ninelives run`` sweep when ``--seeds`` is not given (docs/cli.md)
DEFAULT_SEEDS = 1000


def default_isolation(design_spec: str, isolation: str | None = None) -> str:
    """``scenarios.default_isolation``: the mode a front door runs ``design_spec`` in
    when the user named none (imported on use: the harness is heavy to import)."""
    from scenarios import default_isolation as default

    return default(design_spec, isolation)


def version() -> str:
    """The installed ninelives version (a Dask worker must run the same one)."""
    from importlib.metadata import version as _version

    return _version("ninelives")
