#!/usr/bin/env python3
"""A standard-library client for `mrpo serve` (MRPO shaping and scoring over HTTP).

Copy this file next to your trainer: it needs nothing beyond Python 3.8+.

What a trainer does with it, once per batch of groups (G completions per prompt):

1. compute each completion's token offsets, the [start, end) character span of
   every generated token in the completion text (``token_offsets`` below, from a
   Hugging Face fast tokenizer or by incremental decoding), in UTF-16 code units
   (``to_utf16_offsets``: the service counts characters as JavaScript does);
2. send the groups to ``/v1/score`` (the service runs the step judge) or to
   ``/v1/shape`` (you send rewards/step labels yourself);
3. take ``tokenAdvantages`` (one number per generated token) and multiply them
   into the per-token policy loss in place of GRPO's one-per-sequence advantage
   (``mrpo_trl.trainer.MRPOGRPOTrainer`` does all of this inside TRL's GRPOTrainer).

Run ``python3 python/mrpo_trl/client.py --url http://127.0.0.1:8321 --demo`` against a
running ``mrpo serve`` to see a small batch go through.
"""
import argparse
import array
import base64
import http.client
import json
import re
import socket
import sys
import time
import urllib.error
import urllib.request

__all__ = [
    "MrpoClient",
    "MrpoServiceError",
    "MrpoUnreachableError",
    "offsets_from_fast_tokenizer",
    "offsets_by_incremental_decoding",
    "token_offsets",
    "to_utf16_offsets",
    "token_advantages",
    "advantage_matrix",
]


class MrpoServiceError(RuntimeError):
    """The service refused a request: ``status``, ``message`` and the JSON ``path`` of the bad field."""

    def __init__(self, status, message, path=None):
        super().__init__("HTTP %d: %s" % (status, message) + ("" if path is None else " (at %s)" % path))
        self.status = status
        self.message = message
        self.path = path


class MrpoUnreachableError(ConnectionError):
    """Nothing answers at the service URL (refused, unknown host, timeout, repeated resets)."""


class MrpoClient:
    """POSTs JSON to ``mrpo serve``; retries connection resets and 429/502/503/504 with exponential backoff
    (honouring Retry-After); raises ``MrpoUnreachableError`` at once when nothing listens at ``url``."""

    def __init__(self, url, token=None, timeout=600.0, max_retries=8, backoff=0.5):
        self.url = url.rstrip("/")
        self.backoff = backoff
        self.token = token  # e.g. os.environ.get("MRPO_SERVE_TOKEN"); never logged
        self.timeout = timeout
        self.max_retries = max_retries

    def shape(self, request, compact=False):
        """The ``mrpo shape`` contract: rewards/labels you computed → rewards, advantages, per-token advantages.

        ``compact=True`` sends every completion's ``tokenOffsets`` as base64 little-endian int32 and receives every
        ``tokenAdvantages`` as base64 float64 (``/v1/shape?encoding=compact``): the same numbers, far less JSON for
        large batches. The returned dict has plain lists either way."""
        if not compact:
            return self._post("/v1/shape", request)
        return decode_compact_response(self._post("/v1/shape?encoding=compact", encode_compact_request(request)))

    def score(self, request):
        """Like ``shape`` with ``item`` per group; the service judges the steps and returns ``stepVerdicts`` too."""
        return self._post("/v1/score", request)

    RETRY_STATUSES = (429, 502, 503, 504)

    def _post(self, route, body):
        data = json.dumps(body, separators=(",", ":")).encode("utf-8")
        headers = {"content-type": "application/json"}
        if self.token:
            headers["authorization"] = "Bearer " + self.token
        last = None
        for attempt in range(self.max_retries + 1):
            delay = min(self.backoff * (2 ** attempt), 30.0)
            request = urllib.request.Request(self.url + route, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.loads(response.read().decode("utf-8"))
            except urllib.error.HTTPError as error:
                raw = error.read()
                if error.code in self.RETRY_STATUSES and attempt < self.max_retries:
                    retry_after = error.headers.get("Retry-After")
                    try:
                        delay = max(delay, float(retry_after)) if retry_after else delay
                    except ValueError:
                        pass
                    time.sleep(delay)
                    continue
                try:
                    detail = json.loads(raw.decode("utf-8"))["error"]
                except (ValueError, KeyError, TypeError):
                    detail = {"message": raw.decode("utf-8", "replace")[:300]}
                raise MrpoServiceError(error.code, detail.get("message", ""), detail.get("path")) from None
            except (ConnectionResetError, ConnectionAbortedError, http.client.RemoteDisconnected, http.client.IncompleteRead) as error:
                last = error  # the connection was dropped mid-request: retry with backoff
            except urllib.error.URLError as error:
                reason = error.reason
                if isinstance(reason, (ConnectionResetError, ConnectionAbortedError)):
                    last = error
                else:  # refused / unknown host / timeout: the service is not there, say so now
                    raise MrpoUnreachableError(
                        "cannot reach %s (%s); is `mrpo serve` running?" % (self.url, reason)) from None
            except socket.timeout:
                raise MrpoUnreachableError("%s did not answer within %ss" % (self.url, self.timeout)) from None
            if attempt < self.max_retries:
                time.sleep(delay)
        raise MrpoUnreachableError("%s dropped the connection %d times (%s)" % (self.url, self.max_retries + 1, last))


# ---------------------------------------------------------------------------
# The compact encoding of /v1/shape (base64 of little-endian binary).
# ---------------------------------------------------------------------------


def encode_offsets(pairs):
    """``[[start, end], ...]`` as base64 of little-endian int32 ``start0, end0, start1, ...``."""
    flat = array.array("i", [v for pair in pairs for v in pair])
    if sys.byteorder != "little":
        flat.byteswap()
    return base64.b64encode(flat.tobytes()).decode("ascii")


def decode_float64(encoded):
    """The float64 values of a base64 little-endian block."""
    values = array.array("d")
    values.frombytes(base64.b64decode(encoded, validate=True))
    if sys.byteorder != "little":
        values.byteswap()
    return values.tolist()


def encode_compact_request(request):
    """A copy of a shape request whose list-form ``tokenOffsets`` are base64 int32 (other fields unchanged)."""
    out = dict(request)
    out["groups"] = []
    for group in request["groups"]:
        g = dict(group)
        g["completions"] = []
        for completion in group["completions"]:
            c = dict(completion)
            if isinstance(c.get("tokenOffsets"), list):
                c["tokenOffsets"] = encode_offsets(c["tokenOffsets"])
            g["completions"].append(c)
        out["groups"].append(g)
    return out


def decode_compact_response(response):
    """The response with every base64 ``tokenAdvantages`` turned back into a list of floats (in place)."""
    for group in response.get("groups", []):
        for completion in group.get("completions", []):
            if isinstance(completion.get("tokenAdvantages"), str):
                completion["tokenAdvantages"] = decode_float64(completion["tokenAdvantages"])
    return response


# ---------------------------------------------------------------------------
# Token offsets: the character span of every generated token.
# ---------------------------------------------------------------------------


def offsets_from_fast_tokenizer(tokenizer, text, token_ids):
    """Offsets from a Hugging Face *fast* tokenizer's ``return_offsets_mapping``.

    Re-tokenising the decoded text does not always give back the sampled ids
    (a policy may sample a non-canonical split); then this returns None and
    ``offsets_by_incremental_decoding`` must be used instead.
    """
    encoding = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    if list(encoding["input_ids"]) != list(token_ids):
        return None
    return [(int(start), int(end)) for start, end in encoding["offset_mapping"]]


def offsets_by_incremental_decoding(decode, token_ids, window=8):
    """Offsets of ``token_ids`` in ``decode(token_ids)`` by decoding one token more at a time.

    ``decode`` maps a list of ids to text, e.g.
    ``lambda ids: tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)``
    (use exactly the decoding that produced the completion text you send).
    Each token's text is the difference between decoding a short window of
    tokens with and without it, so the cost is linear in the length. A token
    that ends inside a multi-byte character (the decoded text ends in U+FFFD)
    gets an empty span; the token that completes the character gets it. Spans
    are in Python characters (code points): convert with ``to_utf16_offsets``.
    """
    offsets = []
    position = 0  # characters emitted so far
    first_pending = 0  # first token whose text has not been emitted yet
    for i in range(len(token_ids)):
        low = max(0, first_pending - window)
        done = decode(token_ids[low:first_pending])
        now = decode(token_ids[low : i + 1])
        if now.endswith("\ufffd") or not now.startswith(done):
            offsets.append((position, position))  # incomplete character: wait for the next token
            continue
        added = len(now) - len(done)
        offsets.append((position, position + added))
        position += added
        first_pending = i + 1
    if first_pending < len(token_ids):  # the text ended inside a character: give the rest to the last token
        total = len(decode(list(token_ids)))
        offsets[-1] = (offsets[-1][0], max(offsets[-1][0], total))
    return offsets


def token_offsets(tokenizer, text, token_ids):
    """Fast-tokenizer offsets when they reproduce the sampled ids, else incremental decoding."""
    offsets = offsets_from_fast_tokenizer(tokenizer, text, token_ids) if getattr(tokenizer, "is_fast", False) else None
    if offsets is None:
        decode = lambda ids: tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)  # noqa: E731
        offsets = offsets_by_incremental_decoding(decode, token_ids)
    return offsets


_BEYOND_BMP = re.compile("[\U00010000-\U0010ffff]")


def to_utf16_offsets(text, offsets):
    """Python (code point) offsets → UTF-16 code units, the unit the service uses (JavaScript strings).

    Identical unless the text has characters beyond U+FFFF (emoji, some CJK),
    which count 2 in UTF-16.
    """
    if not _BEYOND_BMP.search(text):
        return [[int(s), int(e)] for s, e in offsets]
    units = [0]
    for ch in text:
        units.append(units[-1] + (2 if ord(ch) > 0xFFFF else 1))
    return [[units[s], units[e]] for s, e in offsets]


# ---------------------------------------------------------------------------
# Reading the response.
# ---------------------------------------------------------------------------


def token_advantages(response):
    """Per-token advantages of every completion, in request order (flattened over groups)."""
    out = []
    for group in response["groups"]:
        for completion in group["completions"]:
            if "tokenAdvantages" not in completion:
                raise ValueError("no tokenAdvantages in the response: send tokenOffsets with every completion")
            out.append(completion["tokenAdvantages"])
    return out


def advantage_matrix(response, width=None, pad=0.0):
    """A B×T list of lists (B completions, right-padded with ``pad`` to ``width``): ``torch.tensor(...)`` of it
    lines up with the trainer's ``completion_mask``."""
    rows = token_advantages(response)
    width = max((len(r) for r in rows), default=0) if width is None else width
    return [list(r[:width]) + [pad] * (width - len(r)) for r in rows]


# ---------------------------------------------------------------------------
# Demo / self-check: a toy byte-level tokenizer instead of a real one.
# ---------------------------------------------------------------------------

DEMO_GOLD = "pneumothorax"
DEMO_TEXTS = [
    "<think>The image is a chest X-ray. There is a left pneumothorax.</think><answer>pneumothorax</answer>",
    "<think>\U0001fac1 The image is a chest X-ray. The heart is enlarged. This suggests cardiomegaly.</think><answer>cardiomegaly</answer>",
]
DEMO_LABELS = [[1, 1], [1, 0, 1]]
_PIECE = re.compile(r"<[^>]+>|\w+|[^\w\s]|\s+")


def toy_tokenize(text):
    """Byte-level toy tokenizer: one token per piece; a non-ASCII piece is cut into 2-byte tokens, so a
    4-byte emoji takes two tokens and the first one decodes to U+FFFD alone, as with real BPE tokenizers."""
    vocab = {}
    ids = []
    for piece in _PIECE.findall(text):
        raw = piece.encode("utf-8")
        chunks = [raw] if piece.isascii() else [raw[i : i + 2] for i in range(0, len(raw), 2)]
        for chunk in chunks:
            ids.append(vocab.setdefault(chunk, len(vocab)))
    inverse = {i: b for b, i in vocab.items()}
    decode = lambda token_ids: b"".join(inverse[i] for i in token_ids).decode("utf-8", "replace")  # noqa: E731
    return ids, decode


def demo_request():
    completions = []
    for text, labels in zip(DEMO_TEXTS, DEMO_LABELS):
        ids, decode = toy_tokenize(text)
        assert decode(ids) == text
        offsets = to_utf16_offsets(text, offsets_by_incremental_decoding(decode, ids))
        completions.append({"text": text, "tokenOffsets": offsets, "stepLabels": labels})
    return {"estimator": "mrpo", "groups": [{"gold": {"answer": DEMO_GOLD}, "completions": completions}]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="base URL of mrpo serve, e.g. http://127.0.0.1:8321")
    parser.add_argument("--token", help="bearer token (default: $MRPO_SERVE_TOKEN)")
    parser.add_argument("--demo", action="store_true", help="send the demo batch to /v1/shape and print the result")
    parser.add_argument("--check", metavar="FILE", help="compare the demo's per-token advantages with FILE's "
                        '{"tokenAdvantages": [[...], ...], "width"?: N, "matrix"?: [[...]]}; exit 1 on mismatch')
    args = parser.parse_args(argv)
    import os

    client = MrpoClient(args.url, token=args.token or os.environ.get("MRPO_SERVE_TOKEN"))
    try:
        response = client.shape(demo_request())
    except MrpoServiceError as error:  # one readable line, not a traceback
        print("mrpo_client.py: %s" % error, file=sys.stderr)
        return 1
    except MrpoUnreachableError as error:
        print("mrpo_client.py: %s" % error, file=sys.stderr)
        return 1
    got = token_advantages(response)
    if args.check:
        with open(args.check, encoding="utf-8") as f:
            expected = json.load(f)
        problems = []
        for i, (g, e) in enumerate(zip(got, expected["tokenAdvantages"])):
            if len(g) != len(e):
                problems.append("completion %d: %d token advantages, expected %d" % (i, len(g), len(e)))
                continue
            for t, (a, b) in enumerate(zip(g, e)):
                if abs(a - b) > 1e-9:
                    problems.append("completion %d token %d: %r, expected %r" % (i, t, a, b))
        if len(got) != len(expected["tokenAdvantages"]):
            problems.append("%d completions, expected %d" % (len(got), len(expected["tokenAdvantages"])))
        if "matrix" in expected:
            matrix = advantage_matrix(response, width=expected.get("width"))
            if len(matrix) != len(expected["matrix"]) or any(
                len(r) != len(e) or any(abs(a - b) > 1e-9 for a, b in zip(r, e)) for r, e in zip(matrix, expected["matrix"])
            ):
                problems.append("advantage_matrix differs from the expected padded matrix")
        if problems:
            print("mismatch:\n  " + "\n  ".join(problems[:20]), file=sys.stderr)
            return 1
        print("ok: %d completions, %d tokens match" % (len(got), sum(len(g) for g in got)))
        return 0
    print(json.dumps({"advantages": [c["advantage"] for g in response["groups"] for c in g["completions"]],
                      "tokenAdvantages": got}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
