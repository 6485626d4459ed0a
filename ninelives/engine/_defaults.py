"""Defaults every front door shares, so that ``ninelives run``, ``make bench`` and the
pytest plugin mean the same thing by "a sweep"."""

#: seeds in a ``ninelives run`` sweep when ``--seeds`` is not given (docs/cli.md)
DEFAULT_SEEDS = 1000


def version() -> str:
    """The installed ninelives version (a Dask worker must run the same one)."""
    from importlib.metadata import version as _version

    return _version("ninelives")
