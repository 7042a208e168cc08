"""mrpo's judge and sampler against a real OpenAI-compatible engine: Hugging Face `transformers serve` (from the
project's venv, `transformers[serving]`) on 127.0.0.1 with tiny random models built here: a Qwen3 text model
(scripts/tiny-qwen3.py) and, for images, test_vlm.py's Qwen2.5-VL with its real processor.

What it checks, by running the real CLIs (`mrpo infer`, `mrpo judge`, `mrpo serve`): successful requests; the
random model's garbage reported as unjudged lines, not a crash; a wrong model name (the engine answers 400
"Server is pinned to …") stopping the run with exit 1; the engine down (connection errors, exit 1) and back on the
same port (a rerun resumes; a long-lived `mrpo serve` judge keeps working across the restart: no stale keep-alive
socket); images decoded by the engine, and one it cannot decode an unjudged `http 500`; the API key in no output.
docs/judge-audit.md ("Verified engines") records what was measured.

Cost and determinism: `transformers serve` ignores `max_completion_tokens` and makes at least 1024 tokens unless the
request sets `max_tokens`, which the judge does not send. Each tiny model's generation config therefore suppresses
every token but one and makes every id an end token: each reply is exactly that token ("nodule" for the text
model, which neither judge can read as a verdict), whatever the random weights, and a judge call takes milliseconds.
"""
import json
import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import ROOT, start_mrpo_serve, stop

EXAMPLES = ROOT / "examples" / "eval"
SECRET = "sk-tfserve-SECRET-4f1c9a77e2"
TRANSFORMERS_CLI = pathlib.Path(sys.executable).parent / "transformers"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# `transformers serve` for the Qwen2.5-VL model: its processor loads only with test_vlm.py's BaseVideoProcessor patch
# (no torchvision for this CPU torch), so the same command is started from Python with that patch applied first.
PATCHED_SERVE = (
    "import sys, transformers, transformers.processing_utils as pu\n"
    "from transformers.video_processing_utils import BaseVideoProcessor\n"
    "pu.transformers_module.BaseVideoProcessor = BaseVideoProcessor\n"
    "transformers.BaseVideoProcessor = BaseVideoProcessor\n"
    "from transformers.cli.transformers import main\n"
    "sys.argv = ['transformers', *sys.argv[1:]]\n"
    "main()\n")


class Engine:
    """`transformers serve MODEL` on a fixed port, started and stopped by the test."""

    def __init__(self, model, port, log, command=(str(TRANSFORMERS_CLI),)):
        self.model, self.port, self.log, self.command, self.proc = model, port, log, command, None
        self.base_url = f"http://127.0.0.1:{port}/v1"

    def start(self):
        self.proc = subprocess.Popen(
            [*self.command, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--device", "cpu",
             str(self.model)], stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"transformers serve exited {self.proc.returncode}: see {self.log.name}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as r:
                    if json.load(r) == {"status": "ok"}:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"transformers serve did not answer /health: see {self.log.name}")

    def kill(self):
        self.proc.kill()
        self.proc.wait(30)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    base = tmp_path_factory.mktemp("tfserve")
    model = base / "tiny-qwen3"
    built = subprocess.run([sys.executable, str(ROOT / "scripts" / "tiny-qwen3.py"), "--out", str(model)],
                           capture_output=True, text=True, timeout=180)
    assert built.returncode == 0, built.stderr
    vocab_size = json.loads((model / "config.json").read_text())["vocab_size"]
    only_reply(model, json.loads((model / "tokenizer.json").read_text())["model"]["vocab"]["\u0120nodule"], vocab_size)
    with open(base / "serve.log", "w") as log:
        e = Engine(model, free_port(), log)
        e.start()
        yield e
        if e.proc.poll() is None:
            e.proc.terminate()
            e.proc.wait(30)


def only_reply(model_dir, token_id, vocab_size):
    """Generation config: every token but `token_id` suppressed, every id an end token (see the module doc)."""
    gen = json.loads((model_dir / "generation_config.json").read_text())
    gen["suppress_tokens"] = [i for i in range(vocab_size) if i != token_id]
    gen["eos_token_id"] = list(range(vocab_size))
    (model_dir / "generation_config.json").write_text(json.dumps(gen))


@pytest.fixture(scope="module")
def vl_engine(tmp_path_factory):
    import test_vlm  # the tiny Qwen2.5-VL and its processor
    base = tmp_path_factory.mktemp("tfserve-vl")
    model_dir = base / "tiny-vl"
    with pytest.MonkeyPatch.context() as mp:
        processor = test_vlm.tiny_processor(mp)
        model = test_vlm.tiny_vl_model(processor.tokenizer)
        model.save_pretrained(model_dir)
        processor.save_pretrained(model_dir)
    tokenizer = processor.tokenizer
    only_reply(model_dir, tokenizer.convert_tokens_to_ids(" The heart is big."), len(tokenizer))
    with open(base / "serve.log", "w") as log:
        e = Engine(model_dir, free_port(), log, command=(sys.executable, "-c", PATCHED_SERVE))
        e.start()
        yield e
        e.proc.terminate()
        e.proc.wait(30)


def mrpo(*args):
    """The CLI from this checkout (run in ROOT, where tsx resolves: give it absolute paths)."""
    env = {**os.environ, "MRPO_JUDGE_API_KEY": SECRET, "MRPO_INFER_API_KEY": SECRET, "NO_COLOR": "1"}
    done = subprocess.run(["node", "--import", "tsx", str(ROOT / "src/cli/main.ts"), *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert SECRET not in done.stdout + done.stderr
    return done


def lines(path):
    text = path.read_text()
    assert SECRET not in text
    return [json.loads(l) for l in text.splitlines() if l.strip()]


def score(url, body):
    req = urllib.request.Request(f"{url}/v1/score", data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.load(r)


SCORE = {"estimator": "mrpo", "groups": [{"id": "cxr-1", "item": {
    "image": "images/cxr-1.png", "question": "Which side is the pneumothorax on?", "answer": "left",
    "goldReasoning": "This is a chest X-ray. A pleural line is seen at the left apex. So it is on the left."},
    "completions": [{"text": "<think>This is a chest X-ray. There is a pleural line at the left apex.</think>"
                             "<answer>left</answer>"},
                    {"text": "<think>This is a CT scan. The answer is right.</think><answer>right</answer>"}]}]}


def test_infer_and_judge_against_transformers_serve(engine, tmp_path):
    model = str(engine.model)
    # The sampler: 4 items, one sample each; every reply is one token, so 4 tokens out in all.
    inf = mrpo("infer", "--in", str(EXAMPLES / "items.jsonl"), "--out", tmp_path / "completions.jsonl", "--base-url",
               engine.base_url, "--model", model, "--family", "qwen3-vl", "--max-tokens", "8")
    assert inf.returncode == 0, inf.stderr
    assert "wrote 4 samples (0 already done), failed 0, requests 4, retries 0" in inf.stderr
    assert " / 4 out" in inf.stderr
    out = lines(tmp_path / "completions.jsonl")
    assert sorted(l["id"] for l in out) == ["ct-2", "cxr-1", "mri-4", "path-3"]
    assert [(l["completion"], l["prediction"], l["finishReason"]) for l in out] == [("nodule", "nodule", "stop")] * 4  # no <answer> tag: the whole text

    # The step judge on the example completions: garbage replies are unjudged lines (one parse retry each), exit 0.
    steps = mrpo("judge", "steps", "--in", str(EXAMPLES / "completions.jsonl"), "--out", tmp_path / "judged.jsonl",
                 "--base-url", engine.base_url, "--model", model, "--no-cache")
    assert steps.returncode == 0, steps.stderr
    assert "judged 0 (cached 0), unjudged 4 (unparseable output: 4), requests 8, retries 4" in steps.stderr
    assert " / 8 out" in steps.stderr
    assert "4 lines unjudged after failures; rerun with --retry-unjudged" in steps.stderr
    judged = lines(tmp_path / "judged.jsonl")
    assert len(judged) == 4
    for l in judged:
        assert l["unjudged"] == "unparseable output (after 2 attempts)"
        assert l["stepLabels"] is None and l["stepVerdicts"] == []
        assert l["stepJudge"]["completionTokens"] == 2  # two one-token replies
    # The answer judge: its garbage leaves correct: null, the unjudged value (never a silent false).
    answers = mrpo("judge", "answers", "--in", EXAMPLES / "completions.jsonl", "--out", tmp_path / "answers.jsonl",
                   "--base-url", engine.base_url, "--model", model, "--no-cache")
    assert answers.returncode == 0, answers.stderr
    assert "unjudged 4 (unparseable output: 4), requests 8" in answers.stderr
    assert [l["correct"] for l in lines(tmp_path / "answers.jsonl")] == [None] * 4

    # A wrong model name: the engine answers 400 "Server is pinned to …"; the run stops at the first, exit 1,
    # nothing written for the refused lines.
    wrong = mrpo("judge", "steps", "--in", str(EXAMPLES / "completions.jsonl"), "--out", tmp_path / "wrong.jsonl",
                 "--base-url", engine.base_url, "--model", "gpt-5-mini", "--no-cache", "--concurrency", "1",
                 )
    assert wrong.returncode == 1, wrong.stderr
    assert "refused the request (http 400, wrong model)" in wrong.stderr
    assert lines(tmp_path / "wrong.jsonl") == []
    wrong = mrpo("infer", "--in", str(EXAMPLES / "items.jsonl"), "--out", tmp_path / "wrong-infer.jsonl", "--base-url",
                 engine.base_url, "--model", "gpt-5-mini", "--family", "qwen3-vl", "--concurrency", "1")
    assert wrong.returncode == 1, wrong.stderr
    assert f"400 Server is pinned to '{model}'; requested 'gpt-5-mini'." in wrong.stderr
    assert "refused the request (http 400, wrong model)" in wrong.stderr

    # mrpo eval with the served model and a misnamed one: the misnamed model stops at its first refused reply
    # (nothing written for it), the served one runs to the end, the tables are written, exit 1 naming it.
    suite = tmp_path / "suite.yaml"
    suite.write_text("\n".join([
        "name: tfserve",
        "benchmarks:",
        f"  - {{ name: examples, group: ood, format: items, path: {EXAMPLES / 'items.jsonl'} }}",
        "models:",
        f"  - {{ name: served, kind: openai, baseUrl: \"{engine.base_url}\", model: \"{model}\", family: qwen3-vl, maxTokens: 8, concurrency: 1 }}",
        f"  - {{ name: misnamed, kind: openai, baseUrl: \"{engine.base_url}\", model: gpt-5-mini, family: qwen3-vl, maxTokens: 8, concurrency: 1 }}",
        "judge: { kind: offline }", ""]))
    ev = mrpo("eval", "--suite", suite, "--out", tmp_path / "eval")
    assert ev.returncode == 1, ev.stderr
    assert "mrpo eval: model misnamed refused (http 400, wrong model), e.g. examples/" in ev.stderr
    assert "stopped: model misnamed (http 400, wrong model) refused every request" in ev.stderr
    assert len(lines(tmp_path / "eval" / "runs" / "served" / "examples.judged.jsonl")) == 4
    assert not (tmp_path / "eval" / "runs" / "misnamed" / "examples.judged.jsonl").exists() or \
        lines(tmp_path / "eval" / "runs" / "misnamed" / "examples.judged.jsonl") == []
    assert json.loads((tmp_path / "eval" / "results.json").read_text())["complete"] is False


def test_engine_down_and_restarted(engine, tmp_path):
    model = str(engine.model)
    child, url = start_mrpo_serve("--judge-base-url", engine.base_url, "--judge-model", model, "--no-judge-cache",
                                  "--judge-retries", "1", "--image-root", str(EXAMPLES), env={"MRPO_JUDGE_API_KEY": SECRET})
    try:
        # A long-lived judge client (mrpo serve) with kept-alive sockets to the engine.
        first = score(url, SCORE)
        assert [c["judge"] for c in first["groups"][0]["completions"]] == [
            {"status": "unjudged", "reason": "unparseable output (after 2 attempts)"}] * 2

        engine.kill()
        args = ["infer", "--in", EXAMPLES / "items.jsonl", "--out", tmp_path / "c.jsonl", "--base-url", engine.base_url, "--model", model,
                "--family", "qwen3-vl", "--max-tokens", "8", "--max-retries", "1"]
        down = mrpo(*args)
        assert down.returncode == 1, down.stderr
        assert "failed 4 (connection error: 4)" in down.stderr
        assert "connection error (after 2 attempts)" in down.stderr
        assert lines(tmp_path / "c.jsonl") == []
        judged_down = score(url, SCORE)
        assert {c["judge"]["reason"] for c in judged_down["groups"][0]["completions"]} == {
            "connection error (after 2 attempts)"}

        engine.start()  # the same port
        again = mrpo(*args)
        assert again.returncode == 0, again.stderr
        assert len(lines(tmp_path / "c.jsonl")) == 4
        # The same mrpo serve judges again after the restart: no stale socket, no connection error.
        after = score(url, SCORE)
        assert [c["judge"] for c in after["groups"][0]["completions"]] == [
            {"status": "unjudged", "reason": "unparseable output (after 2 attempts)"}] * 2
    finally:
        stop(child)


def test_images_reach_a_vision_model_and_a_bad_one_is_unjudged(vl_engine, tmp_path):
    """With Qwen2.5-VL the engine decodes each image mrpo sends as a data URL; one it cannot decode is its 500."""
    model = str(vl_engine.model)
    inf = mrpo("infer", "--in", EXAMPLES / "items.jsonl", "--out", tmp_path / "c.jsonl", "--base-url",
               vl_engine.base_url, "--model", model, "--family", "qwen2.5-vl", "--max-tokens", "8")
    assert inf.returncode == 0, inf.stderr
    assert [l["completion"] for l in lines(tmp_path / "c.jsonl")] == ["The heart is big."] * 4

    # Two example lines with their images, and one whose PNG is cut off after its header: mrpo's default image
    # preparation reads only the header and sends it; the engine cannot decode it and answers a plain 500.
    good = [json.loads(l) for l in (EXAMPLES / "completions.jsonl").read_text().splitlines()[:2]]
    png = (EXAMPLES / good[0]["image"]).read_bytes()
    (tmp_path / "cut.png").write_bytes(png[:len(png) // 3])
    rows = [{**g, "image": str(EXAMPLES / g["image"])} for g in good]
    rows.append({**good[0], "id": "cut", "image": str(tmp_path / "cut.png")})
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    steps = mrpo("judge", "steps", "--in", tmp_path / "in.jsonl", "--out", tmp_path / "j.jsonl", "--base-url",
                 vl_engine.base_url, "--model", model, "--no-cache", "--max-retries", "1")
    assert steps.returncode == 0, steps.stderr
    summary = steps.stderr.split("unjudged 3 (", 1)[1].split(")", 1)[0]
    assert sorted(summary.split(", ")) == ["http 500: 1", "unparseable output: 2"]
    assert {l["id"]: l["unjudged"] for l in lines(tmp_path / "j.jsonl")} == {
        good[0]["id"]: "unparseable output (after 2 attempts)", good[1]["id"]: "unparseable output (after 2 attempts)",
        "cut": "http 500 (after 2 attempts)"}
    assert "OSError: image file is truncated" in pathlib.Path(vl_engine.log.name).read_text()  # the engine's reason (PIL)
