"""MRPOGRPOTrainer with ``score_item``: the completions go to /v1/score, where a real `mrpo serve` judges the steps
with its OpenAI-compatible step judge, here pointed at a local judge server with fixed answers (no network)."""
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image

from conftest import start_mrpo_serve, stop
from mrpo_trl.client import MrpoClient, token_advantages
from test_trainer import CORPUS, run

GOLD = {"question": CORPUS[2], "answer": "pneumothorax",
        "goldReasoning": "The lung is collapsed on the left. There is a pneumothorax."}


def verdict(step):
    """The fixed judge: a step about the heart is neither aligned nor contributing; any other step is aligned."""
    return {"alignment": 0, "contribution": 0} if "heart" in step else {"alignment": 1, "contribution": 0}


class FixedJudge(BaseHTTPRequestHandler):
    """POST /v1/chat/completions as an OpenAI-compatible server answers it, verdicts from ``verdict``."""
    seen = []

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        parts = body["messages"][1]["content"]
        prompt = next(p["text"] for p in parts if p["type"] == "text")
        image = next(p["image_url"]["url"] for p in parts if p["type"] == "image_url")
        steps = re.findall(r"^Step \d+: (.*)$", prompt, flags=re.M)
        FixedJudge.seen.append({"steps": steps, "image": image, "auth": self.headers.get("authorization")})
        content = json.dumps({"step%d" % (i + 1): verdict(s) for i, s in enumerate(steps)})
        reply = json.dumps({"id": "fixed", "object": "chat.completion", "created": 0, "model": body["model"],
                            "choices": [{"index": 0, "finish_reason": "stop",
                                         "message": {"role": "assistant", "content": content}}],
                            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


@pytest.fixture
def judged_serve(tmp_path):
    judge = ThreadingHTTPServer(("127.0.0.1", 0), FixedJudge)
    threading.Thread(target=judge.serve_forever, daemon=True).start()
    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray(np.random.default_rng(3).integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(images / "cxr.png")
    child, url = start_mrpo_serve(
        "--judge", "openai", "--judge-base-url", "http://127.0.0.1:%d/v1" % judge.server_address[1],
        "--judge-model", "fixed-judge", "--no-judge-cache", "--judge-retries", "0", "--image-root", str(images),
        env={"MRPO_JUDGE_API_KEY": "not-a-real-key"})
    FixedJudge.seen = []
    yield url
    stop(child)
    judge.shutdown()


class RecordingClient(MrpoClient):
    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.calls = []

    def score(self, request):
        response = super().score(request)
        self.calls.append((request, response))
        return response


def test_score_path_with_a_server_side_judge(tmp_path, judged_serve):
    client = RecordingClient(judged_serve)
    trainer, tokenizer, _, changed = run(tmp_path, judged_serve, trainer_kwargs={
        "mrpo_client": client, "score_item": lambda row: {"image": "cxr.png", **GOLD}})
    assert trainer.state.global_step == 2 and changed
    assert len(client.calls) == len(trainer.served) == 2
    assert FixedJudge.seen, "the judge was never called"
    assert all(s["image"].startswith("data:image/") and s["auth"] == "Bearer not-a-real-key" for s in FixedJudge.seen)

    reference = {}
    judged = 0
    for (request, response), served in zip(client.calls, trainer.served):
        sent = [c for g in request["groups"] for c in g["completions"]]
        got = [c for g in response["groups"] for c in g["completions"]]
        # What the trainer's loss should see, asked independently: /v1/shape with the labels the fixed judge
        # gives to the service's steps (valid = alignment or contribution), the same gold, texts and spans.
        groups = []
        for g_req, g_res in zip(request["groups"], response["groups"]):
            completions = []
            for c, r in zip(g_req["completions"], g_res["completions"]):
                steps = [c["text"][s["start"]:s["end"]] for s in r["steps"]]
                labels = [int(bool(verdict(s)["alignment"] or verdict(s)["contribution"])) for s in steps]
                if r["judge"]["status"] == "judged":
                    judged += 1
                    assert r["stepVerdicts"] == [verdict(s) for s in steps]
                completions.append({"text": c["text"], "tokenOffsets": c["tokenOffsets"],
                                    **({"stepLabels": labels} if labels else {})})
            groups.append({"gold": {"answer": GOLD["answer"], "reasoning": GOLD["goldReasoning"]},
                           "completions": completions})
        expected = token_advantages(MrpoClient(judged_serve).shape({"estimator": "mrpo", "groups": groups}))
        assert len(expected) == len(got) == len(sent)
        for ids, row in zip(served["completion_ids"].tolist(), expected):
            reference[tuple(ids)] = row
    assert judged > 0

    non_constant = 0
    for seen in trainer.seen_loss_inputs:
        for ids, adv in zip(seen["completion_ids"].tolist(), seen["advantages"].tolist()):
            row = reference[tuple(ids)]
            assert adv[: len(row)] == pytest.approx(row, abs=1e-6)
            non_constant += len(set(row)) > 1
    assert non_constant > 0, "no reshaped completion: the check could not tell MRPO from GRPO"
    logged = {k for h in trainer.state.log_history for k in h}
    assert any(k.startswith("mrpo/judge/") for k in logged), sorted(k for k in logged if k.startswith("mrpo/"))
