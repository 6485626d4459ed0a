"""Seeded customers and cards for the payment provider, from faker.

Creating a ``Faker`` costs tens of milliseconds, so one module-level instance is made on
first use and re-seeded from the caller's ``random.Random`` on every call: the output
depends only on that rng's state, never on what was generated before (the instance is
re-seeded each time, so module-level state carries nothing across runs).

A full card number is a secret: it never appears in a response, trace, snapshot, repr or
dump. ``Customer`` excludes it from ``repr`` and serialisation and exposes only
``card_last4``; use ``mask_card`` wherever a number must be shown.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, computed_field

if TYPE_CHECKING:
    from faker import Faker

_FAKER: Faker | None = None


def _faker() -> Faker:
    global _FAKER
    if _FAKER is None:
        from faker import Faker

        # Unweighted choice: ~10x faster names (weighted lists cost ~90 us a draw).
        _FAKER = Faker("en_US", use_weighting=False)
    return _FAKER


def _digits(number: str) -> str:
    return "".join(ch for ch in number if ch.isdigit())


def mask_card(number: str) -> str:
    """``"4242424242424242"`` → ``"**** **** **** 4242"``: all but the last four digits hidden."""
    digits = _digits(number)
    return f"**** **** **** {digits[-4:]}" if len(digits) >= 4 else "****"


class Customer(BaseModel):
    """A customer with one card. ``declines``: every charge to this card is declined.

    ``card_number`` is kept for realism but excluded from ``repr``, ``str`` and every
    ``model_dump``/``model_dump_json``; only ``card_last4`` is shown.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    email: str
    card_number: str = Field(exclude=True, repr=False)
    declines: bool = False

    @computed_field  # type: ignore[prop-decorator]
    @property
    def card_last4(self) -> str:
        return _digits(self.card_number)[-4:]

    def public(self) -> dict[str, str]:
        """What the provider's API shows of a customer."""
        return {"id": self.id, "name": self.name, "email": self.email,
                "card_last4": self.card_last4}


def make_customers(rng: random.Random, n: int, decline_fraction: float = 0.0) -> list[Customer]:
    """``n`` customers ``cus_1``..``cus_n`` drawn from ``rng``.

    Exactly ``round(n * decline_fraction)`` of them (chosen by ``rng``) have cards that
    decline, so a scenario asking for some decliners gets some even when ``n`` is small.
    Same rng state → same customers, in any process and under any ``PYTHONHASHSEED``.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    if not 0.0 <= decline_fraction <= 1.0:
        raise ValueError("decline_fraction must be between 0 and 1")
    faker_seed = rng.getrandbits(64)
    declining = frozenset(rng.sample(range(n), round(n * decline_fraction)))
    key = (faker_seed, n, declining)
    made = _MADE.get(key)
    if made is None:
        made = _make(faker_seed, n, declining)
        if len(_MADE) >= _MADE_MAX:
            del _MADE[next(iter(_MADE))]  # the oldest: insertion order
        _MADE[key] = made
    return list(made)


# (faker seed, n, declining) -> the customers made from them. A seed's run and its
# fault-free baseline build the same customers; customers are frozen, so they can be
# shared, and faker is re-seeded on every call, so skipping a call changes no later one.
_MADE: dict[tuple[int, int, frozenset[int]], tuple[Customer, ...]] = {}
_MADE_MAX = 256


#: (issuer prefix, digits): Visa, Mastercard, American Express, Discover
_CARD_FORMATS = (("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("34", 15), ("37", 15),
                 ("6011", 16))


def _card_number(rng: random.Random) -> str:
    """A Luhn-valid card number of a common brand, from faker's seeded ``random``.

    Faker's own ``credit_card_number`` builds it through format strings and regexes and
    was half the cost of making customers, which every seed pays once."""
    prefix, length = _CARD_FORMATS[rng.randrange(len(_CARD_FORMATS))]
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(body)):  # the check digit will sit to the right
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def _make(faker_seed: int, n: int, declining: frozenset[int]) -> tuple[Customer, ...]:
    fake = _faker()
    fake.seed_instance(faker_seed)
    customers = []
    for i in range(n):
        first, last = fake.first_name(), fake.last_name()
        customers.append(
            Customer(
                id=f"cus_{i + 1}",
                name=f"{first} {last}",
                email=f"{first}.{last}{fake.random_int(1, 99)}@{fake.free_email_domain()}".lower(),
                card_number=_card_number(fake.random),
                declines=i in declining,
            )
        )
    return tuple(customers)
