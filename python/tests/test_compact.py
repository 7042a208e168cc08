"""The compact encoding of /v1/shape from the Python client, against a real `mrpo serve`.

The byte layouts are pinned by hand (int32 0, 3, 3, 5 and float64 0.5, -1.25,
little-endian, base64 worked out with struct.pack outside the client); the
served values must equal the JSON route's exactly, over several groups with
emoji (UTF-16 offsets) and different lengths.
"""
import copy

from mrpo_trl.client import (
    MrpoClient,
    decode_float64,
    demo_request,
    encode_compact_request,
    encode_offsets,
)


def test_offsets_are_little_endian_int32_base64():
    assert encode_offsets([[0, 3], [3, 5]]) == "AAAAAAMAAAADAAAABQAAAA=="
    assert encode_offsets([]) == ""


def test_advantages_decode_from_little_endian_float64_base64():
    assert decode_float64("AAAAAAAA4D8AAAAAAAD0vw==") == [0.5, -1.25]


def test_compact_request_leaves_the_original_untouched():
    request = demo_request()
    before = copy.deepcopy(request)
    encoded = encode_compact_request(request)
    assert request == before
    assert all(isinstance(c["tokenOffsets"], str) for g in encoded["groups"] for c in g["completions"])


def test_compact_and_json_give_identical_responses(mrpo_serve):
    client = MrpoClient(mrpo_serve)
    request = demo_request()
    second = copy.deepcopy(request["groups"][0])
    second["gold"] = {"answer": "cardiomegaly"}
    request["groups"].append(second)
    plain = client.shape(copy.deepcopy(request))
    compact = client.shape(copy.deepcopy(request), compact=True)
    assert compact == plain
    rows = [c["tokenAdvantages"] for g in compact["groups"] for c in g["completions"]]
    assert len(rows) == 4 and all(len(r) > 0 for r in rows)
    # The two groups have different gold answers, so their advantages differ: the check is not vacuous.
    assert rows[0:2] != rows[2:4]
