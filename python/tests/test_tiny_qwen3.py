"""scripts/tiny-qwen3.py: the directory it writes loads with transformers' Auto classes, offline."""
import subprocess
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from conftest import ROOT

SCRIPT = ROOT / "scripts" / "tiny-qwen3.py"
SPECIALS = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>"]


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120)


def test_builds_a_loadable_tiny_qwen3_with_the_chat_and_vision_tokens(tmp_path):
    out = tmp_path / "tiny"
    done = run("--out", str(out), "--layers", "2", "--hidden-size", "64")
    assert done.returncode == 0, done.stderr
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        assert (out / name).is_file(), name

    tok = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    assert type(model).__name__ == "Qwen3ForCausalLM"
    assert model.config.num_hidden_layers == 2 and model.config.hidden_size == 64
    assert model.config.vocab_size == len(tok)

    # Each chat/vision token is one special token id, and survives a round trip.
    ids = {t: tok.convert_tokens_to_ids(t) for t in SPECIALS}
    assert len(set(ids.values())) == len(SPECIALS)
    assert all(i is not None and 0 <= i < len(tok) for i in ids.values())
    assert set(ids.values()) <= set(tok.all_special_ids)
    text = "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Where is the lesion? café<|im_end|>\n"
    enc = tok.encode(text, add_special_tokens=False)
    for t in SPECIALS[:2] + SPECIALS[3:]:
        assert enc.count(ids[t]) == text.count(t), t
    assert tok.decode(enc) == text  # byte-level: any UTF-8 text round-trips
    assert tok.eos_token == "<|im_end|>"

    # The Qwen chat layout, written out by hand.
    prompt = tok.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Where?"}]}],
        tokenize=False, add_generation_prompt=True)
    assert prompt == "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Where?<|im_end|>\n<|im_start|>assistant\n"

    with torch.no_grad():
        logits = model(torch.tensor([enc])).logits
    assert logits.shape == (1, len(enc), len(tok))
    assert torch.isfinite(logits).all()


def test_same_seed_same_weights_and_bad_flags_exit_2_writing_nothing(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert run("--out", str(a), "--seed", "3").returncode == 0
    assert run("--out", str(b), "--seed", "3").returncode == 0
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()

    bad = tmp_path / "bad"
    done = run("--out", str(bad), "--hidden-size", "60", "--heads", "8")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "--hidden-size 60" in done.stderr
    assert not bad.exists()
    done = run("--out", str(a))  # not empty
    assert done.returncode == 2 and "--out" in done.stderr
    assert run("--help").returncode == 0
