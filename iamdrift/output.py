"""Writing a command's output file: whole or not at all."""

from __future__ import annotations

from pathlib import Path

import click


def write_whole(output: Path, text: str) -> None:
    """Write ``text`` to ``output`` whole or not at all (a temporary file renamed over it); a
    failure is one :class:`click.ClickException` naming the file."""
    temporary = output.with_name(output.name + ".partial")
    try:
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(output)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from exc
    except KeyboardInterrupt:
        temporary.unlink(missing_ok=True)
        raise


__all__ = ["write_whole"]
