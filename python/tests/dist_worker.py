"""One rank of the two-process test (test_distributed.py), started by torch.distributed.run on CPU (gloo).

Usage: python -m torch.distributed.run --nproc_per_node 2 dist_worker.py MRPO_URL OUT_DIR
Trains the tiny Qwen2 of test_trainer.py for 2 steps and writes OUT_DIR/rank<R>.json with what this rank
generated, the rewards TRL gathered, the advantages its loss received, and whether its weights changed.
"""
import json
import math
import os
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[0]), str(HERE)]  # the checkout's mrpo_trl, and test_trainer's helpers

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from datasets import Dataset  # noqa: E402
from trl import GRPOConfig  # noqa: E402

from test_trainer import CORPUS, record_rewards, Recorder, allowed_only, length_reward, step_labels, tiny_model, tiny_tokenizer  # noqa: E402


def main(url, out_dir):
    tokenizer = tiny_tokenizer()
    model = tiny_model(tokenizer)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    prompts = [CORPUS[2], CORPUS[2].replace("left", "right"), CORPUS[2].replace("hemithorax", "lung")]
    data = Dataset.from_list([{"prompt": [{"role": "user", "content": p}]} for p in prompts] * 4)
    # 2 ranks x 6 rows = 12 completions = 3 groups of 4: the middle group is split 2 + 2 across the ranks.
    args = GRPOConfig(output_dir=out_dir, per_device_train_batch_size=6, num_generations=4, max_steps=2,
                      max_completion_length=32, learning_rate=1e-2, logging_steps=1, report_to=[], use_cpu=True,
                      save_strategy="no", seed=0, bf16=False, loss_type="grpo", ddp_timeout=1800,
                      generation_kwargs={"suppress_tokens": allowed_only(tokenizer)})
    trainer = Recorder(model=model, reward_funcs=[length_reward], args=args, train_dataset=data,
                       processing_class=tokenizer, mrpo_url=url, step_labels=step_labels)
    rewards_seen = record_rewards(trainer)  # gathered over both ranks
    trainer.train()
    rank = dist.get_rank()
    changed = any(not torch.equal(before[n], p.detach().cpu()) for n, p in trainer.accelerator.unwrap_model(
        trainer.model).named_parameters())
    result = {"rank": rank, "world": dist.get_world_size(), "backend": dist.get_backend(),
              "steps": trainer.state.global_step, "changed": changed,
              "losses_finite": bool(trainer.losses) and all(math.isfinite(x) for x in trainer.losses),
              "rewards": rewards_seen,
              "served": [s["completion_ids"].tolist() for s in trainer.served],
              "seen": [{"completion_ids": s["completion_ids"].tolist(), "advantages": s["advantages"].tolist()}
                       for s in trainer.seen_loss_inputs]}
    with open(os.path.join(out_dir, "rank%d.json" % rank), "w") as f:
        json.dump(result, f)
    # Leave the process group before the interpreter exits: gloo's threads still running at teardown made a
    # rank abort ("terminate called without an active exception", SIGABRT) once in a clean-clone CI run.
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
