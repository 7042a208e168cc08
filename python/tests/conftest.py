import json
import os
import pathlib
import subprocess
import sys
import threading
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))  # test the checkout, not the installed copy
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("WANDB_DISABLED", "true")


def start_mrpo_serve(*flags, env=None):
    """Starts a real `mrpo serve` from this checkout on a free port with `flags`; returns (process, base URL)."""
    child = subprocess.Popen(
        ["node", "--import", "tsx", str(ROOT / "src/cli/main.ts"), "serve", "--port", "0", *flags],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env=None if env is None else {**os.environ, **env})
    url = None
    deadline = time.time() + 60
    seen = []
    while time.time() < deadline:
        line = child.stderr.readline()
        if not line:
            if child.poll() is not None:
                break
            continue
        seen.append(line)
        if '"msg":"listening"' in line:
            url = json.loads(line)["url"]
            break
    if url is None:
        child.kill()
        raise RuntimeError("mrpo serve did not start:\n" + "".join(seen))
    threading.Thread(target=lambda: [None for _ in child.stderr], daemon=True).start()  # keep draining the log
    return child, url


def stop(child):
    child.terminate()
    child.wait(10)


@pytest.fixture(scope="session")
def mrpo_serve():
    """A real `mrpo serve --judge offline` from this checkout on a free port; yields its base URL."""
    child, url = start_mrpo_serve("--judge", "offline")
    yield url
    stop(child)
