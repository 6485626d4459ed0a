"""Scenarios by name."""

from __future__ import annotations

from ninelives.errors import InputError

from ._scenario import Scenario
from .checkout import Checkout
from .sre_incident import SreIncident
from .subscription_renewal import SubscriptionRenewal

SCENARIOS: dict[str, Scenario] = {s.name: s for s in (Checkout(), SreIncident(),
                                                       SubscriptionRenewal())}


class ScenarioError(InputError):
    """An unknown scenario name, or one a front door cannot run (one-line message)."""

    __module__ = "scenarios"


def get_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ScenarioError(f"unknown scenario {name!r}: use one of "
                            f"{', '.join(SCENARIOS)}") from None
