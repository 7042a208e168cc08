"""Two processes (torch.distributed on CPU, gloo) training one MRPOGRPOTrainer against a real `mrpo serve`."""
import json
import pathlib
import socket
import subprocess
import sys

import pytest

from test_trainer import reference_advantages, tiny_tokenizer

HERE = pathlib.Path(__file__).resolve().parent


def test_two_processes_gloo(tmp_path, mrpo_serve):
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                           "--standalone",
                           str(HERE / "dist_worker.py"), mrpo_serve, str(tmp_path)],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads((tmp_path / ("rank%d.json" % r)).read_text()) for r in range(2)]
    assert [(r["rank"], r["world"], r["backend"]) for r in ranks] == [(0, 2, "gloo"), (1, 2, "gloo")]
    assert all(r["steps"] == 2 and r["changed"] and r["losses_finite"] for r in ranks)
    assert ranks[0]["rewards"] == ranks[1]["rewards"] and len(ranks[0]["rewards"]) == 2

    tokenizer = tiny_tokenizer()
    non_constant = 0
    for step in range(2):
        # The gathered order (rank 0's rows, then rank 1's) is where TRL's groups are contiguous: 3 groups of 4,
        # the middle one split across the ranks. mrpo serve asked directly for those groups:
        local = [r["served"][step] for r in ranks]
        assert [len(x) for x in local] == [6, 6]
        width = max(len(row) for x in local for row in x)
        everything = [row + [tokenizer.pad_token_id] * (width - len(row)) for x in local for row in x]
        expected = reference_advantages(mrpo_serve, tokenizer, everything, ranks[0]["rewards"][step], 4)
        for r, rank in enumerate(ranks):
            # each rank's loss got its own rows' per-token advantages, not another rank's
            mine = {tuple(ids): expected[6 * r + i] for i, ids in enumerate(local[r])}
            seen = rank["seen"][step]
            assert sorted(map(tuple, seen["completion_ids"])) == sorted(mine)
            for ids, adv in zip(seen["completion_ids"], seen["advantages"]):
                row = mine[tuple(ids)]
                assert adv[: len(row)] == pytest.approx(row, abs=1e-6)
                assert all(a == 0 for a in adv[len(row):])
                non_constant += len(set(row)) > 1
    assert non_constant > 0


def test_unreachable_service_stops_both_ranks(tmp_path):
    # ddp_timeout is 1800 s in the worker: the other rank must not sit in the broadcast that long. The main
    # rank raises at once, and rank 1 fails as soon as its peer is gone, so torch.distributed.run returns.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = "http://127.0.0.1:%d" % s.getsockname()[1]
    s.close()
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           str(HERE / "dist_worker.py"), dead, str(tmp_path)],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode != 0
    assert "MrpoUnreachableError: cannot reach %s" % dead in done.stderr and "is `mrpo serve` running?" in done.stderr
    assert not list(tmp_path.glob("rank*.json"))  # neither rank finished training
