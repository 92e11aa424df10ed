"""Accelscope core: training probes, energy meters, pricing and the results store.

Importing this package is cheap and has no side effects: torch is imported only inside the
functions that need it, so the dashboard (and a viewer without torch) can use ``core``.
"""

__version__ = "0.1.0"
