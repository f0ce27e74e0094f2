"""Group identity (docs/contracts.md): groupId and modelName from the key strings."""
import hashlib
import json
import re

from manymodels_runtime.identity import identity, slug

NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{0,254}$")


def test_group_id_is_sha256_of_the_canonical_key_pairs():
    # Given the contract's canonical form, computed independently here
    canonical = '[["store_id","1"],["item_id","007"]]'
    expected = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
    # When
    gid, name = identity("store-item-daily", ["store_id", "item_id"], ["1", "007"])
    # Then
    assert gid == expected
    assert name == f"store-item-daily__1_007__{expected[:12]}"


def test_unicode_keys_are_hashed_as_utf8_not_escaped():
    gid, name = identity("p", ["city"], ["Zürich 東京"])
    canonical = json.dumps([["city", "Zürich 東京"]], separators=(",", ":"), ensure_ascii=False)
    assert "\\u" not in canonical
    assert gid == hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
    assert NAME_RE.match(name)


def test_unsafe_key_values_never_make_a_path_and_stay_distinct():
    values = ["../x", "a/b", "..", "with space", "tab\there", "東京", "", "a\\b", ".hidden", "-lead"]
    names = set()
    ids = set()
    for v in values:
        gid, name = identity("p", ["k"], [v])
        assert NAME_RE.match(name), name
        assert "/" not in name and ".." not in name and "\\" not in name
        names.add(name)
        ids.add(gid)
    assert len(names) == len(values) and len(ids) == len(values)
    assert identity("p", ["k"], ["../x"])[1].startswith("p__---x__")


def test_slug_is_cut_to_80_characters_and_name_stays_valid():
    long_value = "x" * 300
    assert len(slug([long_value])) == 80
    _, name = identity("pipe", ["a", "b"], [long_value, "y"])
    assert NAME_RE.match(name) and len(name) <= 255


def test_key_order_and_column_names_are_part_of_the_identity():
    a = identity("p", ["store", "item"], ["1", "2"])[0]
    b = identity("p", ["item", "store"], ["2", "1"])[0]
    c = identity("p", ["store", "item"], ["2", "1"])[0]
    assert len({a, b, c}) == 3
