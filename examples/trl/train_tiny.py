#!/usr/bin/env python3
"""MRPO with TRL on CPU in about a minute: a tiny random Qwen2 built here, 2 optimiser steps against `mrpo serve`.

    bash scripts/python-env.sh                       # once: .venv-python/ with mrpo-trl, TRL, torch (CPU)
    .venv-python/bin/python examples/trl/train_tiny.py

Without --url it starts `mrpo serve --judge offline` from this checkout (needs `npm ci` first) and stops it at the
end. Nothing is downloaded: the tokenizer is trained on a few sentences and the model is randomly initialised, so
what it writes is noise; the point is the plumbing (TRL samples, mrpo serve shapes, TRL's loss uses the per-token
advantages). Swap in your model, processor, data and reward for real training (examples/trl/README.md).
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from datasets import Dataset  # noqa: E402
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers  # noqa: E402
from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM  # noqa: E402
from trl import GRPOConfig  # noqa: E402

from mrpo_trl.trainer import MRPOGRPOTrainer  # noqa: E402

QUESTION = "What abnormality is seen in the left hemithorax? Answer with one word."
PIECES = ["<think>", "</think>", "<answer>", "</answer>", " The lung is clear.", " There is a pneumothorax.",
          " The heart is big.", "pneumothorax"]


def tiny_tokenizer():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator([QUESTION, *PIECES] * 4, trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    fast.chat_template = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
                          "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    fast.add_tokens(PIECES)
    return fast


def answer_reward(completions, **kwargs):
    """1 when the answer is the gold one, else 0 (your reward function goes here)."""
    return [float("<answer>pneumothorax</answer>" in c[0]["content"]) for c in completions]


def step_labels(text, row):
    """Validity of each reasoning step (a judge's job; here: a step about the heart is wrong)."""
    inner = text.split("<think>", 1)[1].split("</think>", 1)[0] if "<think>" in text else ""
    return [0 if "heart" in s else 1 for s in inner.split(".") if s.strip()]


def start_serve():
    child = subprocess.Popen(["node", "--import", "tsx", "src/cli/main.ts", "serve", "--port", "0", "--judge",
                              "offline"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in child.stderr:
        if '"msg":"listening"' in line:
            return child, json.loads(line)["url"]
    child.wait()
    sys.exit("train_tiny.py: mrpo serve did not start (run `npm ci` in %s first)" % ROOT)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running mrpo serve (default: start one from this checkout)")
    parser.add_argument("--steps", type=int, default=2)
    args = parser.parse_args()
    child, url = (None, args.url) if args.url else start_serve()
    try:
        tokenizer = tiny_tokenizer()
        torch.manual_seed(0)
        model = Qwen2ForCausalLM(Qwen2Config(
            vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
            eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True))
        keep = set(tokenizer.convert_tokens_to_ids(PIECES)) | {tokenizer.eos_token_id}
        config = GRPOConfig(
            output_dir=tempfile.mkdtemp(prefix="mrpo-trl-tiny-"), max_steps=args.steps, per_device_train_batch_size=8,
            num_generations=4, max_completion_length=24, learning_rate=1e-2, loss_type="grpo",
            mask_truncated_completions=False, logging_steps=1, report_to=[], use_cpu=True, save_strategy="no",
            seed=0, generation_kwargs={"suppress_tokens": [i for i in range(len(tokenizer)) if i not in keep]})
        data = Dataset.from_list([{"prompt": [{"role": "user", "content": QUESTION}]}] * 16)
        trainer = MRPOGRPOTrainer(model=model, reward_funcs=[answer_reward], args=config, train_dataset=data,
                                  processing_class=tokenizer, mrpo_url=url, step_labels=step_labels)
        trainer.train()
        for entry in trainer.state.log_history:
            if "loss" in entry:
                print(json.dumps({k: entry[k] for k in ("loss", "mrpo/token_advantage/min", "mrpo/token_advantage/max",
                                                        "mrpo/shape/reshaped", "mrpo/steps/mean") if k in entry}))
        print("ok: %d optimiser steps with mrpo's per-token advantages from %s" % (trainer.state.global_step, url))
    finally:
        if child is not None:
            child.terminate()
            child.wait(10)


if __name__ == "__main__":
    main()
