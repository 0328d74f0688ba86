"""Mutation check: put each small bug of ``mutants.MUTANTS`` into a scratch copy of the tree, one at a time, run
the tests named for it, and say which bugs no test noticed.

    scripts/mutate                 # every mutant
    scripts/mutate --only NAME ... # some of them
    scripts/mutate --list          # what they are
    scripts/mutate --against tests/e2e tests/unit   # how other tests do against the same bugs

A mutant is killed when a named test fails (pytest exit 1) or the tests hang; any other exit is an ERROR with
the run's output (a collection error is not a caught bug). A mutant whose text is no longer found exactly once is
STALE (the code moved on: update the mutant). The named tests run once unmutated first; if they fail there,
nothing is concluded.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
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


# pytest's exit codes: 1 is "a test failed", the only verdict that kills a mutant; 2-5 mean the run itself broke.
TESTS_FAILED = 1
TIMED_OUT = -1


def _environment(tree: Path) -> dict[str, str]:
    # PYTHONPATH puts the scratch copy ahead of the editable install, for subprocesses (CLIs) too; CI=true turns
    # a missing Docker engine or registry into a failure, not a skip that would look like a survivor.
    return {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1", "CI": "true"}


def _pytest(tree: Path, tests: list[str], timeout: float) -> tuple[int, float, str]:
    """(exit code, seconds, the end of the output) of the tests in the scratch tree."""
    started = time.monotonic()
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    process = subprocess.Popen(
        command,
        cwd=tree,
        env=_environment(tree),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: a timeout stops the servers it started too
    )
    try:
        output, _ = process.communicate(timeout=timeout)
        code = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        code = TIMED_OUT
    return code, time.monotonic() - started, "\n".join(output.splitlines()[-15:])


def _imports_the_copy(tree: Path) -> bool:
    probe = "import tasks, deployments, localcloud; print(tasks.__file__, deployments.__file__, localcloud.__file__)"
    where = subprocess.run(
        [sys.executable, "-c", probe], cwd=tree, env=_environment(tree), capture_output=True, text=True, check=True
    ).stdout.split()
    return all(Path(path).is_relative_to(tree) for path in where)


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

        if not _imports_the_copy(tree):
            print("mutate: the scratch copy's modules are not the ones imported; check PYTHONPATH", file=sys.stderr)
            return 1
        tests = sorted({test for mutant in chosen for test in tests_for(mutant)})
        code, seconds, output = _pytest(tree, tests, args.timeout * 2)
        if code != 0:
            print(f"mutate: the named tests fail without any mutant (exit {code}):\n{output}", file=sys.stderr)
            return 1
        print(f"baseline: {len(tests)} test file(s)/node(s) pass unmutated ({seconds:.0f} s)")
        verdicts: dict[str, int] = {}
        for mutant in chosen:
            original = _apply(tree, mutant)
            if original is None:
                verdict, seconds = "STALE", 0.0
                print(f"STALE     {mutant.name:38} its text is not in {mutant.path} exactly once")
            else:
                try:
                    code, seconds, output = _pytest(tree, tests_for(mutant), args.timeout)
                finally:
                    (tree / mutant.path).write_text(original)
                verdict = {0: "SURVIVED", TESTS_FAILED: "killed", TIMED_OUT: "killed (timeout)"}.get(code, "ERROR")
                print(f"{verdict:9} {mutant.name:38} {seconds:5.0f} s  {mutant.promise}", flush=True)
                if verdict == "ERROR":  # not a test failing: the run broke, and says why
                    print(f"  exit {code}:\n" + "\n".join("  " + line for line in output.splitlines()), flush=True)
            verdicts[verdict.split()[0]] = verdicts.get(verdict.split()[0], 0) + 1
        killed, applicable = verdicts.get("killed", 0), len(chosen) - verdicts.get("STALE", 0)
        print(f"mutation score: {killed} killed of {applicable} applicable; {verdicts}")
        return 0 if killed == len(chosen) else 1
    finally:
        shutil.rmtree(tree, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
