"""mmtui: a terminal console for on-call ML engineers."""

__version__ = "0.1.0"
