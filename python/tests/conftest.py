import json
import os
import pathlib
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))  # test the checkout, not the installed copy
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("WANDB_DISABLED", "true")


@pytest.fixture(scope="session")
def mrpo_serve():
    """A real `mrpo serve` from this checkout on a free port; yields its base URL."""
    child = subprocess.Popen(
        ["node", "--import", "tsx", str(ROOT / "src/cli/main.ts"), "serve", "--port", "0", "--judge", "offline"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
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
    import threading

    threading.Thread(target=lambda: [None for _ in child.stderr], daemon=True).start()  # keep draining the log
    yield url
    child.terminate()
    child.wait(10)
