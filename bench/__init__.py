"""Benchmarks of Accelscope itself: `python -m bench --help`. Figures go to BENCHMARKS.md."""
