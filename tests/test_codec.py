from __future__ import annotations

import json
import math

import pytest

from jupyter_codesearch.execute._codec import Unserializable, decode, encode, from_tree, to_tree, value_digest

PLAIN = [
    None, True, False, 0, -7, 2**200, -(2**70), 1.5, -0.0, math.inf, "héllo\ud800", b"\x00\xff",
    1 + 2j, [1, [2, (3,)]], (), {"a": 1, (1, 2): [3], 4: {5}}, {1, "x", (2,)}, frozenset({1, 2}),
]


@pytest.mark.parametrize("value", PLAIN, ids=repr)
def test_plain_values_round_trip_with_their_exact_types(value: object) -> None:
    back = decode(encode(value))
    assert back == value
    assert type(back) is type(value)


def test_nan_round_trips() -> None:
    assert math.isnan(decode(encode(float("nan"))))  # type: ignore[arg-type]


def test_subclasses_of_plain_types_are_refused() -> None:
    class Sneaky(int):
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = int.__hash__

    for value in (Sneaky(1), [Sneaky(1)], {"k": Sneaky(1)}, True.__class__ and object()):
        with pytest.raises(Unserializable):
            encode(value)


def test_objects_with_code_are_refused() -> None:
    for value in (len, lambda: 1, type, compile("1", "x", "eval"), bytearray(b"x")):
        with pytest.raises(Unserializable, match="not plain data"):
            encode(value)


@pytest.mark.parametrize(
    "tree",
    [["X", 1], ["L"] * 0 or {"a": 1}, ["D", 1], ["S", ["L", 1]], ["I", 5], ["B", 1], ["C", "a", 1], [1, 2]],
    ids=repr,
)
def test_malformed_trees_from_a_candidate_are_rejected(tree: object) -> None:
    with pytest.raises(Unserializable):
        from_tree(tree)


def test_malformed_bytes_and_deep_nesting_are_rejected() -> None:
    with pytest.raises(Unserializable):
        decode(b"{not json")
    deep = ("[" + '"L",' ) * 100_000 + "1" + "]" * 100_000
    with pytest.raises(Unserializable):
        decode(deep.encode())
    with pytest.raises(Unserializable, match="too deeply"):
        nested: list[object] = []
        for _ in range(1000):
            nested = [nested]
        encode(nested)


def test_huge_decimal_ints_are_rejected_but_hex_ints_round_trip() -> None:
    with pytest.raises(Unserializable):
        decode(("9" * 5000).encode())
    assert decode(encode(10**5000)) == 10**5000
    assert json.loads(encode(2**100))[0] == "I"


def test_standard_library_dicts_keep_the_equality_they_have_in_the_kernel() -> None:
    import collections

    back = decode(encode(collections.defaultdict(list, {1: [2]})))
    assert type(back) is dict and back == {1: [2]}  # a defaultdict compares as a plain dict
    counter = decode(encode(collections.Counter("aab")))
    assert type(counter) is collections.Counter and counter == collections.Counter("aab")
    assert decode(encode(collections.Counter(a=1, b=0))) == collections.Counter(a=1)  # zeros ignored
    ordered = decode(encode(collections.OrderedDict(a=1, b=2)))
    assert type(ordered) is collections.OrderedDict and list(ordered.items()) == [("a", 1), ("b", 2)]
    assert ordered == collections.OrderedDict(a=1, b=2)
    # Order-sensitive between OrderedDicts, as in the user's kernel (a plain dict would not be).
    assert ordered != collections.OrderedDict(b=2, a=1)
    assert ordered == {"b": 2, "a": 1}
    # Digests group answers that compare equal to the same plain dict.
    assert value_digest(to_tree(collections.OrderedDict(b=2, a=1))) == value_digest(to_tree({"a": 1, "b": 2}))


def test_building_a_value_never_raises_anything_but_unserializable() -> None:
    for tree in (["C", 10**400, 0], ["C", 0, 10**400], ["S", ["L"]], ["D", ["L"], 1], ["I", "zz"]):
        with pytest.raises(Unserializable):
            from_tree(tree)
