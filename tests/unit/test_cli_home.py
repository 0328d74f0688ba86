"""The command line keeps Prefect's home (database, result storage) private to its user."""

import os
import subprocess
import sys


def test_the_prefect_home_is_closed_to_other_users(tmp_path):
    home = tmp_path / "prefect-home"
    home.mkdir(mode=0o755)
    done = subprocess.run(
        [sys.executable, "-m", "deployments.cli", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "PREFECT_HOME": str(home)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert home.stat().st_mode & 0o077 == 0
