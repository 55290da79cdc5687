"""Subcommands of the ``mcops`` CLI, one module each.

A subcommand module defines ``register(subparsers)``: it adds its parser and sets
``handler`` (``argparse.Namespace -> int`` exit code) as a default. `mcops.cli.COMMANDS`
lists the modules; adding a subcommand is one module plus one line there.
"""
