"""The test-framework integrations: the pytest plugin (``_pytest``, public as
``ninelives.pytest_plugin``) and the Hypothesis strategies and state machine
(``_hypothesis``, public as ``ninelives.hypothesis``). Both run designs through the
engine and report through ``ninelives.reports``; neither is imported by them."""
