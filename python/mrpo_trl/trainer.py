"""``MRPOGRPOTrainer``: TRL's GRPOTrainer with per-token advantages from ``mrpo serve``.

Only ``_generate_and_score_completions`` is overridden: TRL generates and scores as
usual, then each group of completions (with the rewards TRL's reward functions
gave them) is sent to ``/v1/shape`` (or, with ``score_item``, to ``/v1/score``
where the service judges), and ``output["advantages"]`` is replaced by the
(B, T) per-token advantages the service returns. TRL's own ``_compute_loss``
(TRL >= 0.26) takes (B, T) advantages unchanged, so every loss type, the vLLM
importance-sampling correction, multimodal inputs and gradient accumulation
keep working as TRL implements them.
"""
import torch
from accelerate.utils import broadcast_object_list, gather_object
from packaging.version import Version
import trl
from trl import GRPOTrainer

from .client import MrpoClient, to_utf16_offsets, token_advantages

MIN_TRL = "0.26.0"

__all__ = ["MRPOGRPOTrainer", "completion_offsets", "prompt_think_prefix"]


def prompt_think_prefix(tokenizer, prompt_ids, think_tag="<think>", window=16):
    """The tail of a prompt from an opening ``think_tag`` that the chat template left open (e.g. ``"<think>\\n"``),
    else ``""``. Thinking templates (Qwen3, DeepSeek-R1 style) end the generation prompt with the tag, so the
    completion starts inside the think block and carries no opening tag of its own."""
    if not think_tag:
        return ""
    tail = tokenizer.decode(list(prompt_ids)[-window:], skip_special_tokens=False, clean_up_tokenization_spaces=False)
    at = tail.rfind(think_tag)
    if at < 0 or tail[at + len(think_tag):].strip():  # no tag, or something (e.g. "</think>") follows it
        return ""
    return tail[at:]


def completion_offsets(tokenizer, token_ids, prefix=""):
    """(text, UTF-16 offsets) of one sampled completion, decoded as TRL decodes it (special tokens skipped;
    they get empty spans). A ``prefix`` (the ``<think>`` the prompt left open) is put before the text and every
    span is shifted by its length."""
    decode = lambda ids: tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)  # noqa: E731
    text = decode(list(token_ids))
    offsets = None
    if getattr(tokenizer, "is_fast", False):
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        if list(enc["input_ids"]) == list(token_ids):
            offsets = [(int(s), int(e)) for s, e in enc["offset_mapping"]]
    if offsets is None:
        from .client import offsets_by_incremental_decoding

        offsets = offsets_by_incremental_decoding(decode, list(token_ids))
    offsets = to_utf16_offsets(text, offsets)
    if prefix and not text.lstrip().startswith(prefix.strip()):  # the model did not open the block again itself
        shift = len(prefix.encode("utf-16-le")) // 2
        return prefix + text, [[s + shift, e + shift] for s, e in offsets]
    return text, offsets


class MRPOGRPOTrainer(GRPOTrainer):
    """GRPOTrainer whose advantages are MRPO's per-token advantages.

    mrpo_url: base URL of ``mrpo serve``. mrpo_estimator: ``mrpo`` (default), ``grpo`` or ``gdpo``.
    mrpo_options: the shape request's ``options``. score_item: ``None`` to use /v1/shape with TRL's rewards
    (as ``rewards.answer``), or a function ``row -> {image, question, answer, goldReasoning?}`` to use /v1/score.
    step_labels: optional ``(text, row) -> [0|1, ...]`` giving the validity of each reasoning step for /v1/shape
    (without it the service has no step labels: R_proc = 0 and each completion's advantage on every token).
    mrpo_client: an ``MrpoClient`` (default: one for ``mrpo_url``).
    think_tag: the tag that opens the reasoning (default ``<think>``). When a prompt ends with it still open (a
    thinking chat template), the completion has no opening tag; the text sent to the service (and to
    ``step_labels``) is then the prompt's tail from the tag followed by the completion, with every token span
    shifted by the tail's length, so the service finds the steps. ``None`` turns this off.
    mrpo_compact: send /v1/shape requests in the compact encoding (base64 offsets in, base64 float64 advantages
    out: the same numbers, a fraction of the JSON work on both sides for large batches). /v1/score stays JSON.
    """

    def __init__(self, *args, mrpo_url=None, mrpo_estimator="mrpo", mrpo_options=None, score_item=None,
                 step_labels=None, mrpo_client=None, think_tag="<think>", mrpo_compact=False, **kwargs):
        if Version(trl.__version__.split("+")[0]) < Version(MIN_TRL):
            raise RuntimeError(
                "MRPOGRPOTrainer needs TRL >= %s (its loss accepts (B, T) advantages); found trl %s. "
                "Older TRL broadcasts (B, T) advantages to (B, B, T) silently." % (MIN_TRL, trl.__version__))
        args_ = kwargs.get("args") if "args" in kwargs else (args[2] if len(args) > 2 else None)
        if args_ is not None and getattr(args_, "use_liger_kernel", False):
            raise ValueError("MRPOGRPOTrainer does not support use_liger_kernel=True: the Liger GRPO loss takes "
                             "one advantage per sequence and would drop the per-token advantages")
        if mrpo_client is None and mrpo_url is None:
            raise ValueError("MRPOGRPOTrainer needs mrpo_url (e.g. http://127.0.0.1:8321) or mrpo_client")
        super().__init__(*args, **kwargs)
        if getattr(self.args, "use_liger_kernel", False):
            raise ValueError("MRPOGRPOTrainer does not support use_liger_kernel=True")
        self.mrpo_client = mrpo_client or MrpoClient(mrpo_url)
        self.mrpo_estimator = mrpo_estimator
        self.mrpo_options = mrpo_options
        self.score_item = score_item
        self.step_labels = step_labels
        self.think_tag = think_tag
        self.mrpo_compact = mrpo_compact

    def _tokenizer_for_offsets(self):
        pc = self.processing_class
        return getattr(pc, "tokenizer", None) or pc

    def _generate_and_score_completions(self, inputs):
        mode = "train" if self.model.training else "eval"
        captured = {}
        original = self._calculate_rewards
        shadowed = "_calculate_rewards" in self.__dict__  # someone wrapped it on the instance: put theirs back

        def capture(inputs_, prompts, completions, completion_ids_list):
            rewards_per_func = original(inputs_, prompts, completions, completion_ids_list)
            captured["rewards_per_func"] = rewards_per_func  # gathered over processes
            captured["completion_ids_list"] = [list(map(int, ids)) for ids in completion_ids_list]  # local, sampled
            return rewards_per_func

        self._calculate_rewards = capture
        try:
            output = super()._generate_and_score_completions(inputs)
        finally:
            if shadowed:
                self._calculate_rewards = original
            else:
                del self._calculate_rewards  # back to the class method
        if "completion_ids_list" not in captured:
            raise RuntimeError("TRL did not call _calculate_rewards; this TRL version is not supported")

        tokenizer = self._tokenizer_for_offsets()
        local_ids = captured["completion_ids_list"]
        local = []
        prompt_ids, prompt_mask = output["prompt_ids"], output["prompt_mask"]
        for i, (row, ids) in enumerate(zip(inputs, local_ids)):
            prefix = prompt_think_prefix(tokenizer, prompt_ids[i][prompt_mask[i].bool()].tolist(), self.think_tag)
            text, offsets = completion_offsets(tokenizer, ids, prefix)
            entry = {"text": text, "tokenOffsets": offsets}
            if self.score_item is not None:
                entry["item"] = self.score_item(row)
            elif self.step_labels is not None:
                labels = self.step_labels(text, row)
                if labels is not None:
                    entry["stepLabels"] = [int(x) for x in labels]
            local.append(entry)
        rewards = (captured["rewards_per_func"] * self.reward_weights.to(captured["rewards_per_func"].device)
                   .unsqueeze(0)).nansum(dim=1).tolist()
        everything = gather_object(local)
        group_size = self.num_generations if mode == "train" else self.num_generations_eval
        result = [None, None]
        if self.accelerator.is_main_process:
            if len(everything) % group_size:
                raise RuntimeError("%d completions do not split into groups of %d" % (len(everything), group_size))
            groups = []
            for start in range(0, len(everything), group_size):
                members = everything[start:start + group_size]
                if self.score_item is None:
                    completions = [{"text": m["text"], "tokenOffsets": m["tokenOffsets"],
                                    "rewards": {"answer": float(rewards[start + j])},
                                    **({"stepLabels": m["stepLabels"]} if "stepLabels" in m else {})}
                                   for j, m in enumerate(members)]
                    groups.append({"completions": completions})
                else:
                    completions = [{"text": m["text"], "tokenOffsets": m["tokenOffsets"]} for m in members]
                    groups.append({"item": members[0]["item"], "completions": completions})
            request = {"estimator": self.mrpo_estimator, "groups": groups}
            if self.mrpo_options:
                request["options"] = self.mrpo_options
            if self.score_item is not None:
                response = self.mrpo_client.score(request)
            elif self.mrpo_compact:
                response = self.mrpo_client.shape(request, compact=True)
            else:
                response = self.mrpo_client.shape(request)
            result = [token_advantages(response), response.get("metrics")]
        broadcast_object_list(result, from_process=0)
        all_rows = result[0]
        start = self.accelerator.process_index * len(local)
        rows = all_rows[start:start + len(local)]

        completion_ids = output["completion_ids"]
        advantages = torch.zeros(completion_ids.shape, dtype=torch.float32, device=completion_ids.device)
        for i, (row, ids) in enumerate(zip(rows, local_ids)):
            if len(row) != len(ids):
                raise RuntimeError("mrpo serve returned %d token advantages for a completion of %d tokens"
                                   % (len(row), len(ids)))
            n = min(len(ids), advantages.shape[1])
            advantages[i, :n] = torch.tensor(row[:n], dtype=torch.float32)
        output["advantages"] = advantages

        flat = torch.tensor([a for r in all_rows for a in r] or [0.0], dtype=torch.float64)  # JSON may give ints (0)
        self._metrics[mode]["mrpo/token_advantage/mean"].append(flat.mean().item())
        self._metrics[mode]["mrpo/token_advantage/std"].append(flat.std().item() if flat.numel() > 1 else 0.0)
        self._metrics[mode]["mrpo/token_advantage/min"].append(flat.min().item())
        self._metrics[mode]["mrpo/token_advantage/max"].append(flat.max().item())
        for name, value in (result[1] or {}).items():  # the service's batch metrics: steps/*, shape/*, judge/*, ...
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self._metrics[mode]["mrpo/" + name].append(float(value))
        return output
