"""The base images a Dockerfile builds on: the ``FROM`` (and ``COPY --from``) images that are neither ``scratch``
nor a stage of the same Dockerfile.

A nightly rebuild must notice a base tag re-pushed to a new digest, so the build cache key includes what each
base resolves to right now.
"""

from __future__ import annotations

import re

_ARG = re.compile(r"^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?", re.IGNORECASE)
_FROM = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?\s*$", re.IGNORECASE)
_COPY_FROM = re.compile(r"^\s*COPY\s.*--from=(\S+)", re.IGNORECASE)
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def _logical_lines(text: str) -> list[str]:
    """Lines with backslash continuations joined and comments dropped."""
    joined = re.sub(r"\\\r?\n", " ", text)
    return [line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _substitute(value: str, args: dict[str, str]) -> str:
    def replace(match: re.Match) -> str:
        name = match.group(1) or match.group(3)
        return args.get(name) or match.group(2) or ""

    return _VARIABLE.sub(replace, value)


def base_images(dockerfile: str, build_args: dict[str, str] | None = None) -> list[str]:
    """The image references the ``FROM`` lines pull, in order, without duplicates. ``ARG``s declared before the
    first ``FROM`` are substituted (build args override their defaults)."""
    args: dict[str, str] = {}
    stages: set[str] = set()
    bases: list[str] = []
    for line in _logical_lines(dockerfile):
        if arg := _ARG.match(line):
            if not bases and not stages:
                name, default = arg.group(1), (arg.group(2) or "").strip("\"'")
                args[name] = (build_args or {}).get(name, default)
            continue
        if found := _FROM.match(line):
            _add(bases, _substitute(found.group(1), args), stages)
            if found.group(2):
                stages.add(found.group(2).lower())
        elif copied := _COPY_FROM.match(line):
            source = _substitute(copied.group(1), args)
            if not source.isdigit():  # --from=0 names a stage by its index
                _add(bases, source, stages)
    return bases


def _add(bases: list[str], image: str, stages: set[str]) -> None:
    if image.lower() != "scratch" and image.lower() not in stages and image not in bases:
        bases.append(image)
