"""Statistics: baseline profiles, drift tests, quality metrics, streaming change detectors."""
