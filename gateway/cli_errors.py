"""How every ``tryon`` command reports a failure: a red ``error:`` line on stderr, an exit code."""

from __future__ import annotations

import typer


def fail(message: str, code: int = 1) -> typer.Exit:
    """The ``typer.Exit`` to raise after printing ``error: message`` on stderr."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)
