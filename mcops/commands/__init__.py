"""Subcommands of the ``mcops`` CLI, one module each.

A subcommand module defines ``register(subparsers)``: it adds its parser and sets
``handler`` (``argparse.Namespace -> int`` exit code) as a default. Adding a subcommand
is adding its module here: `mcops.cli` finds it.
"""
