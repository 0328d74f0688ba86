"""Mutation check: put each small bug of ``mutants.MUTANTS`` into a scratch copy of the tree, one at a time, run
the tests named for it, and say which bugs no test noticed.

    scripts/mutate                 # every mutant
    scripts/mutate --only NAME ... # some of them
    scripts/mutate --list          # what they are
    scripts/mutate --against tests/e2e tests/unit   # how other tests do against the same bugs

A mutant whose text is no longer found exactly once is reported stale (the code moved on: update the mutant).
The named tests run once unmutated first; if they fail there, nothing is concluded.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.mutation.mutants import MUTANTS, Mutant

REPO = Path(__file__).resolve().parents[2]


def _copy_tree(into: Path) -> None:
    """The tracked and untracked-but-not-ignored files (no .venv, no .state)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        source = REPO / name.decode()
        if source.is_file():
            target = into / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def _pytest(tree: Path, tests: list[str], timeout: float) -> tuple[int, float]:
    started = time.monotonic()
    # PYTHONPATH puts the scratch copy ahead of the editable install, for subprocesses (CLIs) too.
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    try:
        done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout)
        code = done.returncode
    except subprocess.TimeoutExpired:
        code = -1  # a mutant that hangs the tests is noticed too
    return code, time.monotonic() - started


def _apply(tree: Path, mutant: Mutant) -> str | None:
    """Write the mutant into the tree; returns the original text, or None when the mutant is stale."""
    path = tree / mutant.path
    original = path.read_text()
    if original.count(mutant.find) != 1:
        return None
    path.write_text(original.replace(mutant.find, mutant.replace))
    return original


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these mutants")
    parser.add_argument("--list", action="store_true", help="list the mutants and the promise each one breaks")
    parser.add_argument("--against", nargs="+", metavar="TEST", help="run these tests for every mutant instead")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per mutant's test run")
    args = parser.parse_args()
    chosen = [m for m in MUTANTS if not args.only or m.name in args.only]
    if args.only and (unknown := set(args.only) - {m.name for m in MUTANTS}):
        print(f"mutate: no mutant named {', '.join(sorted(unknown))} (see --list)", file=sys.stderr)
        return 2
    if args.list:
        for mutant in chosen:
            print(f"{mutant.name:38} {mutant.promise}")
        return 0
    tree = Path(tempfile.mkdtemp(prefix="eci-release-mutants-"))
    try:
        _copy_tree(tree)

        def tests_for(mutant: Mutant) -> list[str]:
            return args.against or mutant.tests

        tests = sorted({test for mutant in chosen for test in tests_for(mutant)})
        code, seconds = _pytest(tree, tests, args.timeout * 2)
        if code != 0:
            print(f"mutate: the named tests fail without any mutant (exit {code}); fix them first", file=sys.stderr)
            return 1
        print(f"baseline: {len(tests)} test file(s)/node(s) pass unmutated ({seconds:.0f} s)")
        killed = stale = 0
        for mutant in chosen:
            original = _apply(tree, mutant)
            if original is None:
                stale += 1
                print(f"STALE     {mutant.name:38} its text is not in {mutant.path} exactly once")
                continue
            try:
                code, seconds = _pytest(tree, tests_for(mutant), args.timeout)
            finally:
                (tree / mutant.path).write_text(original)
            killed += code != 0
            verdict = "killed  " if code != 0 else "SURVIVED"
            print(f"{verdict}  {mutant.name:38} {seconds:5.0f} s  {mutant.promise}", flush=True)
        applicable = len(chosen) - stale
        print(f"mutation score: {killed} killed of {applicable} applicable ({stale} stale)")
        return 0 if killed == applicable and not stale else 1
    finally:
        shutil.rmtree(tree, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
