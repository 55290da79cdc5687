"""Test notebooks are inputs for the runner tests, not nbval subjects."""

collect_ignore_glob = ["*.ipynb"]
