"""numpy reference for the `shape` bench (bench/shape.bench.ts): MRPO per-token
advantages for a batch, written independently of the TypeScript code from
docs/method.md §2–§5, in the way a Python trainer would compute them.

Input (argv[1], written by the bench): a JSON file with
  texts          one string per completion (ASCII in the bench)
  group_sizes    completions per group, in order
  labels         step labels (0/1) per completion
  answer         the answer reward R_ans of each completion (taken from
                 shape()'s output: ROUGE-1/BLEU-1 are not ported)
  tau, epsilon, min_steps, max_steps, round_weights
  offsets_file   raw little-endian int32: start0, end0, start1, end1, ... of
                 every token of every completion, in order
  token_counts   tokens per completion
  out_file       where the per-token advantages go (raw float64, same order)
  seconds        how long to repeat the timed call

Computed here, per run: steps (think blocks, the reference's sentence regex
with strip and drop-empty, list numbers merged with the next sentence), R_proc
and R_len from the steps, R = R_ans + R_proc + R_len, group normalisation
(x - mean)/(sample std + eps), MRPO step values (+|A| for valid steps,
-w_k|A| for invalid ones in completions whose R_ans <= tau), the token -> step
map (most overlapping characters, earlier step on a tie) and the per-token
advantages. Prints one JSON line: the median and best seconds of the whole
call, the medians of its two parts (Python `re` segmentation; the numpy part),
and every call's seconds (the bench pools them over its interleaved rounds).
"""

import json
import re
import sys
import time

import numpy as np

THINK_RE = re.compile(r"<\s*(think|thinking)\s*>(.*?)<\s*/\s*\1\s*>", re.IGNORECASE | re.DOTALL)
ANSWER_OPEN_RE = re.compile(r"<\s*answer\s*>", re.IGNORECASE)
SENTENCE_CUT = re.compile(r"(?<=[.!?])\s+(?=[^\s])")
NUMBER_FRAGMENT = re.compile(r"\d+\.")


def stripped(text, start, end):
    """The span [start, end) without leading/trailing whitespace (str.strip), or None when empty."""
    piece = text[start:end]
    left = len(piece) - len(piece.lstrip())
    right = len(piece.rstrip())
    return None if right <= left else (start + left, start + right)


def segment(text):
    """Step spans (start, end) of one completion, in text order."""
    spans = []
    for m in THINK_RE.finditer(text):
        start, end = m.start(2), m.end(2)
        cut = ANSWER_OPEN_RE.search(text, start, end)
        if cut is not None:
            end = cut.start()
        pieces = []
        piece_start = start
        for sep in SENTENCE_CUT.finditer(text, start, end):
            s = stripped(text, piece_start, sep.start())
            if s is not None:
                pieces.append(s)
            piece_start = sep.end()
        s = stripped(text, piece_start, end)
        if s is not None:
            pieces.append(s)
        i = 0
        while i < len(pieces):
            s, e = pieces[i]
            if i + 1 < len(pieces) and NUMBER_FRAGMENT.fullmatch(text, s, e):
                spans.append((s, pieces[i + 1][1]))
                i += 2
            else:
                spans.append((s, e))
                i += 1
    return spans


def segment_all(texts, labels):
    """Steps of every completion as flat arrays in one character space (completion i's text starts at base[i])."""
    starts, ends, valid, steps_per = [], [], [], []
    base = 0
    bases = []
    for text, lab in zip(texts, labels):
        spans = segment(text)
        bases.append(base)
        steps_per.append(len(spans))
        for k, (s, e) in enumerate(spans):
            starts.append(base + s)
            ends.append(base + e)
            valid.append(k < len(lab) and lab[k] == 1)
        base += len(text)
    return (
        np.array(starts, dtype=np.int64),
        np.array(ends, dtype=np.int64),
        np.array(valid, dtype=bool),
        np.array(steps_per, dtype=np.int64),
        np.array(bases, dtype=np.int64),
    )


def normalize_groups(x, group_of, n_groups, eps):
    """(x - group mean)/(group sample std + eps); 0 in a group of one."""
    n = np.bincount(group_of, minlength=n_groups).astype(np.float64)
    mean = np.bincount(group_of, weights=x, minlength=n_groups) / n
    dev = x - mean[group_of]
    ss = np.bincount(group_of, weights=dev * dev, minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        std = np.sqrt(ss / (n - 1))
    out = dev / (std[group_of] + eps)
    return np.where(n[group_of] < 2, 0.0, out)


def advantages(seg, cfg):
    step_start, step_end, step_valid, K, base = seg
    n_comp = len(K)
    n_groups = len(cfg["group_sizes"])
    group_of = np.repeat(np.arange(n_groups), cfg["group_sizes"])
    has_labels = cfg["has_labels"]
    answer = cfg["answer"]

    # rewards: R_proc = valid steps / K (0 without steps or labels); R_len from K
    step_comp = np.repeat(np.arange(n_comp), K)
    n_valid = np.bincount(step_comp, weights=step_valid.astype(np.float64), minlength=n_comp)
    Kf = K.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        process = np.where(has_labels & (K > 0), n_valid / Kf, 0.0)
    kmin, kmax = cfg["min_steps"], cfg["max_steps"]
    length = np.where(K < kmin, -(kmin - Kf) / kmin, np.where(K > kmax, -(Kf - kmax) / kmax, 0.0))
    A = normalize_groups(answer + process + length, group_of, n_groups, cfg["epsilon"])

    # MRPO step values
    reshape = (answer <= cfg["tau"]) & has_labels & (K > 0)
    first = np.cumsum(K) - K
    k = np.arange(len(step_start)) - first[step_comp]
    Ks = Kf[step_comp]
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(Ks > 1, np.exp(1.0 - k / (Ks - 1.0)), 1.0)
    if cfg["round_weights"]:
        w = np.floor(w * 100.0 + 0.5) / 100.0  # half up, as Math.round
    mag = np.abs(A)[step_comp]
    step_value = np.where(step_valid, mag, -w * mag)

    # token -> step: the step overlapping most, the earlier on a tie; -1 for none
    counts = cfg["token_counts"]
    off = cfg["offsets"].reshape(-1, 2)
    tok_base = np.repeat(base, counts)
    s = off[:, 0] + tok_base
    e = off[:, 1] + tok_base
    n_steps = len(step_start)
    j = np.searchsorted(step_end, s, side="right")  # first step ending after s
    best = np.full(len(s), -1, dtype=np.int64)
    best_overlap = np.zeros(len(s), dtype=np.int64)
    # candidates j, j+1, ... while they start before e; later rounds only visit the tokens still live
    idx = np.nonzero((e > s) & (j < n_steps))[0]
    jj = j[idx]
    while len(idx) > 0:
        si, ei = s[idx], e[idx]
        starts = step_start[jj]
        ok = starts < ei
        idx, jj, si, ei, starts = idx[ok], jj[ok], si[ok], ei[ok], starts[ok]
        overlap = np.minimum(ei, step_end[jj]) - np.maximum(si, starts)
        better = overlap > best_overlap[idx]
        best[idx[better]] = jj[better]
        best_overlap[idx[better]] = overlap[better]
        jj = jj + 1
        more = jj < n_steps
        idx, jj = idx[more], jj[more]

    out = np.repeat(A, counts)
    use = (best >= 0) & np.repeat(reshape, counts)
    out[use] = step_value[best[use]]
    return out


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        req = json.load(f)
    texts, labels = req["texts"], req["labels"]
    cfg = {
        "group_sizes": req["group_sizes"],
        "answer": np.array(req["answer"], dtype=np.float64),
        "has_labels": np.array([len(x) > 0 for x in labels], dtype=bool),
        "tau": req["tau"],
        "epsilon": req["epsilon"],
        "min_steps": req["min_steps"],
        "max_steps": req["max_steps"],
        "round_weights": req["round_weights"],
        "offsets": np.fromfile(req["offsets_file"], dtype="<i4"),
        "token_counts": np.array(req["token_counts"], dtype=np.int64),
    }

    def run():
        return advantages(segment_all(texts, labels), cfg)

    out = run()
    out.astype("<f8").tofile(req["out_file"])
    for _ in range(2):
        run()
    total, seg_t, num_t = [], [], []
    deadline = time.perf_counter() + req["seconds"]
    while time.perf_counter() < deadline or len(total) < 5:
        t0 = time.perf_counter()
        seg = segment_all(texts, labels)
        t1 = time.perf_counter()
        advantages(seg, cfg)
        t2 = time.perf_counter()
        total.append(t2 - t0)
        seg_t.append(t1 - t0)
        num_t.append(t2 - t1)
    print(
        json.dumps(
            {
                "median": float(np.median(total)),
                "best": float(np.min(total)),
                "segment_median": float(np.median(seg_t)),
                "numpy_median": float(np.median(num_t)),
                "runs": len(total),
                "numpy": np.__version__,
                "times": total,
                "segment_times": seg_t,
                "numpy_times": num_t,
            }
        )
    )


if __name__ == "__main__":
    main()
