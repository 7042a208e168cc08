"""Where MRPO plugs into a TRL GRPOTrainer-style loop (illustrative sketch).

GRPO gives every token of completion i the same advantage A_i. MRPO gives each
token the advantage of the reasoning step it belongs to (valid steps of a wrong
answer +|A_i|, invalid ones -w_k|A_i|). So the trainer changes in two places:

1. after sampling: send each group (the prompt's item + its G completions with
   token offsets) to `mrpo serve` and keep the returned per-token advantages
   as a (B, T) tensor instead of GRPO's (B,) vector;
2. in the loss: multiply that (B, T) tensor into the per-token surrogate where
   GRPO broadcasts `advantages.unsqueeze(1)`.

Needs torch + trl (not needed for mrpo_client.py). TRL's private method names
change between versions (this follows the 0.14-0.2x layout:
`_generate_and_score_completions` returns prompt/completion ids and masks,
old/ref per-token log-probs and `advantages`; `_compute_loss` consumes them);
adapt the two overrides to the version you run. Pass `reward_funcs` that
return zeros: the service computes the rewards.
"""
import os

import torch
from accelerate.utils import broadcast_object_list, gather_object
from trl import GRPOTrainer

from mrpo_client import MrpoClient, advantage_matrix, token_offsets, to_utf16_offsets


class MrpoGRPOTrainer(GRPOTrainer):
    def __init__(self, *args, mrpo_url="http://127.0.0.1:8321", estimator="mrpo", **kwargs):
        super().__init__(*args, **kwargs)
        self.mrpo = MrpoClient(mrpo_url, token=os.environ.get("MRPO_SERVE_TOKEN"))
        self.estimator = estimator

    def _generate_and_score_completions(self, inputs):
        out = super()._generate_and_score_completions(inputs)  # sampling, old/ref log-probs, GRPO advantages
        tokenizer = self.processing_class.tokenizer if hasattr(self.processing_class, "tokenizer") else self.processing_class
        completion_ids, mask = out["completion_ids"], out["completion_mask"]  # (B_local, T)

        # --- what the service needs per completion: the text and each generated token's character span ---
        local = []
        for row, row_mask, example in zip(completion_ids, mask, inputs):
            ids = row[row_mask.bool()].tolist()
            text = tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
            offsets = to_utf16_offsets(text, token_offsets(tokenizer, text, ids))  # fast-tokenizer offsets or incremental decoding
            local.append({"example": example, "text": text, "tokenOffsets": offsets})

        # Groups must be whole: gather every process's completions, ask once, hand each process its rows.
        everything = gather_object(local)
        G = self.num_generations
        response = [None]
        if self.accelerator.is_main_process:
            groups = []
            for start in range(0, len(everything), G):
                members = everything[start : start + G]
                ex = members[0]["example"]
                groups.append({
                    "item": {  # your dataset's fields; image as a path under --image-root, an http(s) URL or a data: URL
                        "id": str(ex.get("id", start // G)),
                        "image": ex["image_path"],
                        "question": ex["question"],
                        "answer": ex["answer"],
                        "goldReasoning": ex.get("gold_reasoning"),
                    },
                    "completions": [{"text": m["text"], "tokenOffsets": m["tokenOffsets"]} for m in members],
                })
            response = [self.mrpo.score({"estimator": self.estimator, "groups": groups})]  # or .shape(...) with your own labels
        response = broadcast_object_list(response)[0]

        # --- (B, T) per-token advantages, aligned with completion_mask (padding 0, masked anyway) ---
        rows = advantage_matrix(response, width=mask.size(1))
        first = self.accelerator.process_index * len(local)
        out["advantages"] = torch.tensor(rows[first : first + len(local)], dtype=torch.float32, device=mask.device)
        self._metrics["train"]["mrpo/reward_total"].append(response["metrics"]["reward/total"])
        return out

    def _compute_loss(self, model, inputs):
        prompt_ids, prompt_mask = inputs["prompt_ids"], inputs["prompt_mask"]
        completion_ids, mask = inputs["completion_ids"], inputs["completion_mask"]
        input_ids = torch.cat([prompt_ids, completion_ids], dim=1)
        attention_mask = torch.cat([prompt_mask, mask], dim=1)
        logps = self._get_per_token_logps(model, input_ids, attention_mask, completion_ids.size(1))  # (B, T)
        old = inputs.get("old_per_token_logps")
        old = logps.detach() if old is None else old

        adv_B_T = inputs["advantages"]  # per token: this replaces GRPO's advantages.unsqueeze(1)
        ratio = torch.exp(logps - old)
        clipped = torch.clamp(ratio, 1 - self.epsilon_low, 1 + self.epsilon_high)
        per_token_loss = -torch.min(ratio * adv_B_T, clipped * adv_B_T)
        if self.beta != 0.0:  # k3 KL to the reference policy
            ref = inputs["ref_per_token_logps"]
            per_token_loss = per_token_loss + self.beta * (torch.exp(ref - logps) - (ref - logps) - 1)
        # seq-mean-token-mean, the reference MRPO aggregation
        return ((per_token_loss * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)).mean()
