"""MRPOGRPOTrainer with real TRL/transformers/torch on CPU, a tiny random Qwen2 and a real `mrpo serve`."""
import math

import pytest
import torch
from datasets import Dataset
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM
from trl import GRPOConfig

from mrpo_trl.client import MrpoClient, token_advantages
from mrpo_trl.trainer import MRPOGRPOTrainer, completion_offsets, prompt_think_prefix

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
CORPUS = [
    "<think>The image is a chest X-ray. There is a left pneumothorax.</think><answer>pneumothorax</answer>",
    "<think>The heart is enlarged. This suggests cardiomegaly.</think><answer>cardiomegaly</answer>",
    "What abnormality is seen in the left hemithorax? Answer with one word.",
]


def tiny_tokenizer():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS * 4, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   bos_token=None)
    fast.chat_template = CHAT_TEMPLATE
    fast.add_tokens(STORY)
    return fast


# Generation is restricted to these tokens (plus EOS), so a random model writes <think> steps </think><answer>.
STORY = ["<think>", "</think>", "<answer>", "</answer>", " The lung is clear.", " There is a pneumothorax.",
         " The heart is big.", "pneumothorax"]


def allowed_only(tokenizer):
    keep = set(tokenizer.convert_tokens_to_ids(STORY))  # no EOS: long enough to hold steps
    return [i for i in range(len(tokenizer)) if i not in keep]


def step_labels(text, row):
    """A deterministic labeller: a step mentioning the heart is invalid."""
    inner = text.split("<think>", 1)[1].split("</think>", 1)[0] if "<think>" in text else ""
    return [0 if "heart" in s else 1 for s in inner.split(".") if s.strip()]


def tiny_model(tokenizer):
    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                         tie_word_embeddings=True)
    return Qwen2ForCausalLM(config)


def length_reward(completions, **kwargs):
    """1 for an odd-length completion, else 0: about half are "wrong" (<= tau), so MRPO reshapes their steps."""
    return [float(len(c[0]["content"]) % 2) if isinstance(c, list) else float(len(c) % 2) for c in completions]


class Recorder(MRPOGRPOTrainer):
    """Records what reached TRL's loss and what mrpo serve answered."""

    def __init__(self, *a, wrong=False, **k):
        super().__init__(*a, **k)
        self.seen_loss_inputs, self.served, self.losses, self.wrong = [], [], [], wrong

    def _generate_and_score_completions(self, inputs):
        out = super()._generate_and_score_completions(inputs)
        # Ask the service again, independently, for exactly these completions (same rewards, same groups).
        self.served.append({"completion_ids": out["completion_ids"].clone(), "advantages": out["advantages"].clone()})
        if self.wrong:  # a GRPO-style constant per row must be caught by the test
            mask = out["completion_mask"].float()
            out["advantages"] = (out["advantages"] * mask).sum(1, keepdim=True) / mask.sum(1, keepdim=True).clamp(min=1) * torch.ones_like(out["advantages"])
        return out

    def _compute_loss(self, model, inputs):
        self.seen_loss_inputs.append({"completion_ids": inputs["completion_ids"].clone(),
                                      "advantages": inputs["advantages"].clone()})
        loss = super()._compute_loss(model, inputs)
        self.losses.append(loss.item())
        return loss


def reference_advantages(url, tokenizer, completion_ids, rewards, group, prefix=""):
    """What mrpo serve returns for these completions, asked directly."""
    groups = []
    rows = []
    for ids in completion_ids:
        ids = [int(t) for t in ids]
        if tokenizer.eos_token_id in ids:
            ids = ids[: ids.index(tokenizer.eos_token_id) + 1]
        else:
            while ids and ids[-1] == tokenizer.pad_token_id:
                ids.pop()
        rows.append(ids)
    for s in range(0, len(rows), group):
        comps = []
        for j in range(s, s + group):
            text, offsets = completion_offsets(tokenizer, rows[j])
            if prefix:  # the prompt ended inside an open think block: the service must see the opening tag
                text, offsets = prefix + text, [[s + len(prefix), e + len(prefix)] for s, e in offsets]
            comps.append({"text": text, "tokenOffsets": offsets, "rewards": {"answer": rewards[j]},
                          "stepLabels": step_labels(text, None)})
        groups.append({"completions": comps})
    return token_advantages(MrpoClient(url).shape({"estimator": "mrpo", "groups": groups}))


def record_rewards(trainer):
    """A list that fills with each batch's first reward column, as TRL computes it (gathered over ranks)."""
    rewards_seen = []
    original = trainer._calculate_rewards

    def keep(*a):
        r = original(*a)
        rewards_seen.append(r[:, 0].tolist())
        return r

    trainer._calculate_rewards = keep  # the trainer wraps this again inside its override
    return rewards_seen


def run(tmp_path, url, wrong=False, gas=1, tokenizer=None, trainer_kwargs=None, **extra):
    tokenizer = tokenizer or tiny_tokenizer()
    model = tiny_model(tokenizer)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    data = Dataset.from_list([{"prompt": [{"role": "user", "content": CORPUS[2]}]}] * 8)
    config = dict(output_dir=str(tmp_path), per_device_train_batch_size=4, num_generations=4,
                  gradient_accumulation_steps=gas, max_steps=2, max_completion_length=32, learning_rate=1e-2,
                  logging_steps=1, report_to=[], use_cpu=True, save_strategy="no", seed=0, bf16=False,
                  temperature=1.0, generation_kwargs={"suppress_tokens": allowed_only(tokenizer)})
    args = GRPOConfig(**{**config, **extra})
    trainer = Recorder(**{"model": model, "reward_funcs": [length_reward], "args": args, "train_dataset": data,
                          "eval_dataset": data, "processing_class": tokenizer, "mrpo_url": url, "wrong": wrong,
                          "step_labels": step_labels, **(trainer_kwargs or {})})
    rewards_seen = record_rewards(trainer)
    trainer.train()
    changed = any(not torch.equal(before[n], p.detach()) for n, p in trainer.model.named_parameters())
    return trainer, tokenizer, rewards_seen, changed


def check(trainer, tokenizer, url, rewards_seen, prefix=""):
    assert len(trainer.served) >= 1 and len(trainer.seen_loss_inputs) >= 2
    # Every row TRL's loss received: its advantages equal, token by token, what mrpo serve returns.
    reference = {}
    for served, rewards in zip(trainer.served, rewards_seen):
        ref = reference_advantages(url, tokenizer, served["completion_ids"].tolist(), rewards, 4, prefix)
        for ids, row in zip(served["completion_ids"].tolist(), ref):
            reference[tuple(ids)] = row
    non_constant = 0
    for seen in trainer.seen_loss_inputs:
        assert seen["advantages"].dim() == 2
        for ids, adv in zip(seen["completion_ids"].tolist(), seen["advantages"].tolist()):
            row = reference[tuple(ids)]
            assert adv[: len(row)] == pytest.approx(row, abs=1e-6)
            assert all(a == 0 for a in adv[len(row):])
            if len(set(row)) > 1:
                non_constant += 1
    assert non_constant > 0, "no completion had varying per-token advantages: the test could not tell MRPO from GRPO"


@pytest.mark.parametrize("gas", [1, 2])
def test_trainer_feeds_mrpo_token_advantages_to_trl_loss(tmp_path, mrpo_serve, gas):
    trainer, tokenizer, rewards_seen, changed = run(tmp_path, mrpo_serve, gas=gas)
    assert trainer.state.global_step == 2
    check(trainer, tokenizer, mrpo_serve, rewards_seen)
    assert changed, "weights did not change"
    assert trainer.losses and all(math.isfinite(l) for l in trainer.losses)
    logged = [k for h in trainer.state.log_history for k in h]
    assert any(k.startswith("mrpo/token_advantage") for k in logged)
    assert "mrpo/steps/mean" in logged and "mrpo/shape/reshaped" in logged  # the service's own metrics


def test_compact_encoding_gives_the_same_advantages_to_trl_loss(tmp_path, mrpo_serve):
    class Counting(MrpoClient):
        modes = []

        def shape(self, request, compact=False):
            self.modes.append(compact)
            return super().shape(request, compact=compact)

    client = Counting(mrpo_serve)
    trainer, tokenizer, rewards_seen, changed = run(tmp_path, mrpo_serve, trainer_kwargs={"mrpo_client": client, "mrpo_compact": True})
    assert client.modes and all(client.modes), "the trainer did not use the compact encoding"
    check(trainer, tokenizer, mrpo_serve, rewards_seen)  # the reference comes from the JSON route
    assert changed and all(math.isfinite(l) for l in trainer.losses)


def test_reused_generations_keep_mrpo_advantages(tmp_path, mrpo_serve):
    # num_iterations=2: TRL generates once and optimises twice on the same completions (the second pass with a
    # clipped ratio against the first pass's log-probs); both passes must see mrpo's per-token advantages.
    trainer, tokenizer, rewards_seen, changed = run(tmp_path, mrpo_serve, num_iterations=2, per_device_train_batch_size=8)  # 2 groups
    assert trainer.state.global_step == 2
    assert len(trainer.served) == 1 and len(trainer.seen_loss_inputs) == 2, "expected one generation, two passes"
    generated = sorted(map(tuple, trainer.served[0]["completion_ids"].tolist()))
    assert sorted(map(tuple, trainer.seen_loss_inputs[1]["completion_ids"].tolist())) == generated  # reused
    check(trainer, tokenizer, mrpo_serve, rewards_seen)
    assert changed, "weights did not change"
    assert len(trainer.losses) == 2 and all(math.isfinite(l) for l in trainer.losses)


def test_wrong_advantages_fail_the_check(tmp_path, mrpo_serve):
    trainer, tokenizer, rewards_seen, _ = run(tmp_path, mrpo_serve, wrong=True)
    with pytest.raises(AssertionError):
        check(trainer, tokenizer, mrpo_serve, rewards_seen)


def test_unreachable_service_is_a_clear_error():
    import socket

    from mrpo_trl.client import MrpoUnreachableError

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(MrpoUnreachableError, match="is `mrpo serve` running"):
        MrpoClient("http://127.0.0.1:%d" % port, max_retries=1).shape({"estimator": "mrpo", "groups": []})


def test_liger_is_refused(mrpo_serve):
    tokenizer = tiny_tokenizer()
    args = GRPOConfig(output_dir="/tmp/mrpo-trl-liger", use_liger_kernel=True, report_to=[], use_cpu=True,
                      per_device_train_batch_size=4, num_generations=4)
    with pytest.raises(ValueError, match="use_liger_kernel"):
        MRPOGRPOTrainer(model=tiny_model(tokenizer), reward_funcs=[length_reward], args=args,
                        train_dataset=Dataset.from_list([{"prompt": "x"}] * 4), processing_class=tokenizer,
                        mrpo_url=mrpo_serve)


def test_truncated_rows_are_sent_with_their_sampled_text(tmp_path, mrpo_serve):
    # No EOS is allowed, so every completion is truncated and mask_truncated_completions zeroes every mask row;
    # the service must still get the sampled text (not "") and the advantages must still match it.
    trainer, tokenizer, rewards_seen, _ = run(tmp_path, mrpo_serve, mask_truncated_completions=True)
    assert trainer.state.global_step == 2
    check(trainer, tokenizer, mrpo_serve, rewards_seen)


def test_eval_uses_the_eval_group_size(tmp_path, mrpo_serve):
    trainer, tokenizer, _, _ = run(tmp_path, mrpo_serve, num_generations_eval=2, per_device_eval_batch_size=4)
    sent = []
    original = trainer.mrpo_client.shape
    trainer.mrpo_client.shape = lambda request: (sent.append(request), original(request))[1]
    trainer.evaluate()
    assert sent and all(len(g["completions"]) == 2 for r in sent for g in r["groups"])
    assert "mrpo/token_advantage/mean" in trainer._metrics["eval"] or any(
        "eval_mrpo/token_advantage/mean" in h for h in trainer.state.log_history)


class RecordingClient(MrpoClient):
    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.requests = []

    def shape(self, request):
        self.requests.append(request)
        return super().shape(request)


def test_prompt_that_opens_think_block(tmp_path, mrpo_serve):
    # A thinking chat template ends the generation prompt with "<think>\n": the completion starts inside the
    # block and never writes the opening tag (suppressed here), so the service must be sent "<think>\n" + text.
    tokenizer = tiny_tokenizer()
    tokenizer.chat_template = CHAT_TEMPLATE.replace("assistant\n{% endif %}", "assistant\n<think>\n{% endif %}")
    think = tokenizer.convert_tokens_to_ids("<think>")
    client = RecordingClient(mrpo_serve)
    trainer, tokenizer, rewards_seen, changed = run(
        tmp_path, mrpo_serve, tokenizer=tokenizer, trainer_kwargs={"mrpo_client": client},
        generation_kwargs={"suppress_tokens": allowed_only(tokenizer) + [think]})
    sent = [c for r in client.requests for g in r["groups"] for c in g["completions"]]
    assert sent and all(c["text"].startswith("<think>\n") and c["text"].count("<think>") == 1 for c in sent)
    assert all(c["tokenOffsets"][0][0] == len("<think>\n") for c in sent)  # spans shifted past the prefix
    assert any(c.get("stepLabels") for c in sent)  # step_labels saw the steps too
    check(trainer, tokenizer, mrpo_serve, rewards_seen, prefix="<think>\n")  # incl. some reshaped (non-constant) rows
    assert changed


def test_think_prefix_only_for_an_open_block():
    tokenizer = tiny_tokenizer()

    def prompt(template_end):
        return tokenizer(CORPUS[2] + "<|im_end|>\n<|im_start|>assistant\n" + template_end)["input_ids"]

    assert prompt_think_prefix(tokenizer, prompt("<think>\n")) == "<think>\n"
    assert prompt_think_prefix(tokenizer, prompt("<think>")) == "<think>"
    assert prompt_think_prefix(tokenizer, prompt("<think>\n\n</think>\n\n")) == ""  # thinking switched off
    assert prompt_think_prefix(tokenizer, prompt("")) == ""
    assert prompt_think_prefix(tokenizer, prompt("<think>\n"), think_tag=None) == ""
    # the model opening the block again itself: no second tag
    ids = tokenizer("<think> The lung is clear.</think>", add_special_tokens=False)["input_ids"]
    assert completion_offsets(tokenizer, ids, "<think>\n")[0] == "<think> The lung is clear.</think>"


def test_identical_completions_give_zero_advantages(tmp_path, mrpo_serve):
    # Only EOS may be sampled, so every completion of a group is the same (empty text): equal rewards, group std 0,
    # A_i = 0, and MRPO has no steps to reshape: every token's advantage is 0 (the service sends JSON integers).
    tokenizer = tiny_tokenizer()
    only_eos = [i for i in range(len(tokenizer)) if i != tokenizer.eos_token_id]
    trainer, _, _, changed = run(tmp_path, mrpo_serve, tokenizer=tokenizer,
                                 generation_kwargs={"suppress_tokens": only_eos})
    assert trainer.state.global_step == 2 and len(trainer.seen_loss_inputs) == 2
    assert all(s["completion_ids"].shape[1] == 1 for s in trainer.seen_loss_inputs)
    assert all(not s["advantages"].any() for s in trainer.seen_loss_inputs)
    assert trainer.losses and all(math.isfinite(l) for l in trainer.losses)
