#!/usr/bin/env python3
"""Builds a tiny random-weight Qwen3 model directory, with no hub download.

The directory holds what a Hugging Face loader (and a self-hosted SkyRL tx
server's `--base-model DIR`) needs: config.json and model.safetensors
(transformers' Qwen3Config / Qwen3ForCausalLM, random initialisation), and a
byte-level BPE tokenizer trained here with the `tokenizers` library
(tokenizer.json, tokenizer_config.json with a Qwen-style chat template). The
tokenizer has the Qwen chat special tokens <|im_start|>, <|im_end|>,
<|endoftext|> and the vision tokens <|vision_start|>, <|vision_end|>,
<|image_pad|>, so the same directory is also mrpo's `backend.tokenizer` for the
`qwen3-vl` renderer (which needs them).

Usage (with the project's Python environment, `bash scripts/python-env.sh`):

    .venv-python/bin/python scripts/tiny-qwen3.py --out models/tiny-qwen3

The weights are random: the model says nothing sensible; it exists so that a
real training server can be started and exercised on a CPU in seconds.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
]
# Qwen3 tokenizers carry the think tags as added (non-special) tokens.
ADDED_TOKENS = ["<think>", "</think>"]

# The pre-tokenizer split of the Qwen2/Qwen3 tokenizers (contractions, letters, single digits,
# punctuation runs, newlines, spaces), applied before the byte-level mapping.
QWEN_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# A ChatML template in the Qwen layout: image parts become <|vision_start|><|image_pad|><|vision_end|>.
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' -}}"
    "{%- if message['content'] is string -%}{{- message['content'] -}}"
    "{%- else -%}{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'image' -%}{{- '<|vision_start|><|image_pad|><|vision_end|>' -}}"
    "{%- elif part['type'] == 'text' -%}{{- part['text'] -}}{%- endif -%}"
    "{%- endfor -%}{%- endif -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)

# Text the BPE merges are learned from: the chat layout, the think/answer format and the words
# of medical imaging questions, so that frequent words become single tokens.
DEFAULT_CORPUS = [
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n",
    "<|im_start|>user\nWhat abnormality is seen in this image?<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>user\nWhere is the lesion located?<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>user\nHow many lesions are there?<|im_end|>\n<|im_start|>assistant\n",
    "Think step by step and enclose your reasoning in <think> </think> tags. "
    "Then provide your answer in <answer> </answer> tags.",
    "<think> The image is a chest radiograph. There is a bright nodule in the left upper lobe. </think>"
    "<answer> nodule </answer>",
    "The background is smooth, speckled or striped. The body silhouette is wide or tall.",
    "The modality is radiograph, ct or mri. The region is the chest, knee, abdomen, neck, brain or spine.",
    "The finding is a nodule, pneumothorax, osteophyte, effusion, calculus, cyst, calcification, "
    "abscess, tumor, edema, herniation or syrinx.",
    "The lesion is bright or dark, on the left or right side, in the upper or lower part.",
    "There is one lesion. There are two lesions. There are three lesions.",
    "Therefore the answer is yes or no. The scan shows normal anatomy without acute findings.",
]


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="tiny-qwen3.py",
        description="Build a tiny random-weight Qwen3 model directory (config.json, model.safetensors, "
        "tokenizer.json, tokenizer_config.json) offline.",
    )
    p.add_argument("--out", required=True, help="directory to create (must not exist or be empty)")
    p.add_argument("--vocab-size", type=int, default=512, help="tokenizer vocabulary size incl. special tokens (default 512, min 300)")
    p.add_argument("--hidden-size", type=int, default=64, help="hidden size (default 64)")
    p.add_argument("--layers", type=int, default=2, help="decoder layers (default 2)")
    p.add_argument("--heads", type=int, default=4, help="attention heads (default 4)")
    p.add_argument("--kv-heads", type=int, default=2, help="key/value heads (default 2)")
    p.add_argument("--intermediate-size", type=int, default=128, help="MLP size (default 128)")
    p.add_argument("--max-positions", type=int, default=4096, help="max_position_embeddings (default 4096)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights (default 0)")
    p.add_argument("--corpus", help="optional UTF-8 text file whose lines are added to the BPE training text")
    return p.parse_args(argv)


def fail(message: str) -> "NoReturn":  # noqa: F821
    print(f"tiny-qwen3.py: {message}", file=sys.stderr)
    sys.exit(2)


def validate(args: argparse.Namespace) -> list[str]:
    """Checks every flag before anything is written; returns the corpus lines."""
    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        fail(f"--out {out}: exists and is not an empty directory")
    # 256 byte symbols + the special and added tokens; below that nothing can be merged.
    if args.vocab_size < 300:
        fail(f"--vocab-size {args.vocab_size}: must be at least 300 (256 bytes + special tokens + merges)")
    for flag in ("hidden_size", "layers", "heads", "kv_heads", "intermediate_size", "max_positions"):
        if getattr(args, flag) < 1:
            fail(f"--{flag.replace('_', '-')} {getattr(args, flag)}: must be a positive integer")
    if args.hidden_size % args.heads != 0:
        fail(f"--hidden-size {args.hidden_size}: must be divisible by --heads {args.heads}")
    if (args.hidden_size // args.heads) % 2 != 0:
        fail(f"--hidden-size {args.hidden_size} / --heads {args.heads}: head size must be even (rotary embeddings)")
    if args.heads % args.kv_heads != 0:
        fail(f"--heads {args.heads}: must be a multiple of --kv-heads {args.kv_heads}")
    corpus = list(DEFAULT_CORPUS)
    if args.corpus is not None:
        try:
            corpus += [line for line in Path(args.corpus).read_text(encoding="utf-8").splitlines() if line.strip()]
        except (OSError, UnicodeDecodeError) as error:
            fail(f"--corpus {args.corpus}: cannot read ({error})")
    return corpus


def build_tokenizer(corpus: list[str], vocab_size: int):
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN_SPLIT), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - len(ADDED_TOKENS),
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    # Each line many times, so every pair the corpus has is frequent enough to merge.
    tok.train_from_iterator((line for _ in range(8) for line in corpus), trainer=trainer)
    tok.add_tokens(ADDED_TOKENS)
    return tok


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    corpus = validate(args)

    import torch
    from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM

    tok = build_tokenizer(corpus, args.vocab_size)
    ids = {t: tok.token_to_id(t) for t in SPECIAL_TOKENS}
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=SPECIAL_TOKENS[1:2] + SPECIAL_TOKENS[3:],
        clean_up_tokenization_spaces=False,
        model_max_length=args.max_positions,
    )
    fast.chat_template = CHAT_TEMPLATE

    torch.manual_seed(args.seed)
    config = Qwen3Config(
        vocab_size=len(fast),
        hidden_size=args.hidden_size,
        intermediate_size=args.intermediate_size,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        num_key_value_heads=args.kv_heads,
        head_dim=args.hidden_size // args.heads,
        max_position_embeddings=args.max_positions,
        tie_word_embeddings=True,
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
    )
    model = Qwen3ForCausalLM(config)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    fast.save_pretrained(out)
    # transformers writes the template to chat_template.jinja; keep a copy in tokenizer_config.json
    # too, where older loaders (and transformers.js) look for it.
    cfg_path = out / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    cfg["chat_template"] = CHAT_TEMPLATE
    cfg["tokenizer_class"] = "Qwen2Tokenizer"
    cfg_path.write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")

    params = sum(p.numel() for p in model.parameters())
    print(f"wrote {out}: Qwen3ForCausalLM, {params} parameters, vocab {config.vocab_size}, "
          f"{args.layers} layers, hidden {args.hidden_size}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
