"""The pytest plugin is imported by every pytest session of every project that has
ninelives installed, so importing it must stay cheap: no harness, no pydantic, no
Hypothesis (they are imported when a sweep runs)."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points

HEAVY = ("simulator", "scenarios", "faults", "reference_agent", "pydantic", "hypothesis",
         "trio", "faker", "rich")


def test_importing_the_plugin_imports_no_harness() -> None:
    code = ("import json, sys, ninelives.pytest_plugin; "
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    loaded = set(json.loads(out))
    assert "ninelives" in loaded  # the probe did import the plugin
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_the_plugin_is_registered_as_a_pytest11_entry_point() -> None:
    found = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert found.get("ninelives") == "ninelives.pytest_plugin"
