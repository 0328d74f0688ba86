"""Every mutant of ``scripts/mutate`` still finds its text in the code, once: a stale one tests nothing."""

from pathlib import Path

import pytest

from tests.mutation.mutants import MUTANTS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda mutant: mutant.name)
def test_the_mutants_text_is_in_its_file_exactly_once(mutant):
    assert (ROOT / mutant.path).read_text().count(mutant.find) == 1, f"update the mutant {mutant.name}"
