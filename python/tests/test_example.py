"""examples/trl/train_tiny.py, the README's CPU example, runs end to end against a real `mrpo serve`."""
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_tiny_example_trains_two_steps(mrpo_serve):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}  # this checkout's mrpo_trl
    done = subprocess.run([sys.executable, str(ROOT / "examples/trl/train_tiny.py"), "--url", mrpo_serve],
                          capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == (
        "ok: 2 optimiser steps with mrpo's per-token advantages from %s" % mrpo_serve)
