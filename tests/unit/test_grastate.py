"""grastate.dat: valid files, every kind of corruption, and two properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from galera.domain.grastate import CorruptGrastate, Grastate, parse
from galera.domain.position import Position
from tests.unit.builders import UUID_A, ZERO_UUID, grastate_text

SOURCE = "/var/lib/mysql/grastate.dat"


# --- Valid files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seqno", "safe", "empty", "needs_recovery"),
    [
        (grastate_text(seqno="42", safe_to_bootstrap="0"), 42, False, False, False),
        (grastate_text(seqno="42", safe_to_bootstrap="1"), 42, True, False, False),
        (grastate_text(seqno="42", safe_to_bootstrap=None), 42, False, False, False),
        (grastate_text(seqno="-1"), -1, False, False, True),
        (grastate_text(seqno="0"), 0, False, False, False),
        (grastate_text(uuid=ZERO_UUID, seqno="-1"), -1, False, True, False),
        (grastate_text(uuid=UUID_A.upper()), 42, False, False, False),
    ],
    ids=[
        "clean-not-safe",
        "last-to-leave-is-safe",
        "old-file-without-safe-flag",
        "crashed-needs-recovery",
        "seqno-zero",
        "never-joined-is-empty",
        "upper-case-uuid-is-folded",
    ],
)
def test_valid_file_gives_typed_state(
    text: str, seqno: int, safe: bool, empty: bool, needs_recovery: bool
) -> None:
    state = parse(text, SOURCE)
    assert state.seqno == seqno
    assert state.safe_to_bootstrap is safe
    assert state.empty is empty
    assert state.needs_recovery is needs_recovery
    assert state.uuid == state.uuid.lower()
    assert state.position == Position(state.uuid, seqno)


def test_blank_lines_comments_and_unknown_keys_are_ignored() -> None:
    text = (
        "\n# GALERA saved state\n\nversion: 2.1\nuuid: "
        f"{UUID_A}\n  # a comment\nseqno: 7\nfuture_key: whatever\nfuture_key: again\n"
    )
    assert parse(text, SOURCE) == Grastate("2.1", UUID_A, 7, False)


@pytest.mark.parametrize(
    ("version_line", "expected"),
    [("version: 2.1\n", "2.1"), ("version: 2.2\n", "2.2"), ("version:\n", "2.1"), ("", "2.1")],
    ids=["2.1", "2.2", "empty-defaults", "missing-defaults"],
)
def test_version_defaults_to_2_1(version_line: str, expected: str) -> None:
    text = f"{version_line}uuid: {UUID_A}\nseqno: 3\n"
    assert parse(text, SOURCE).version == expected


def test_render_writes_what_galera_writes() -> None:
    text = Grastate("2.1", UUID_A, 42, True).render()
    assert text.splitlines() == [
        "# GALERA saved state",
        "version: 2.1",
        f"uuid:    {UUID_A}",
        "seqno:   42",
        "safe_to_bootstrap: 1",
    ]


# --- Corrupt files ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"version: 2.1\nuuid: {UUID_A}\n", "no 'seqno' line (truncated file?)"),
        ("version: 2.1\nseqno: 5\n", "no 'uuid' line (truncated file?)"),
        ("", "no 'uuid' line"),
        ("# GALERA saved state\n", "no 'uuid' line"),
        (grastate_text(seqno="abc"), "line 4: seqno 'abc' is not an integer"),
        (grastate_text(seqno="4.5"), "line 4: seqno '4.5' is not an integer"),
        (grastate_text(seqno=""), "line 4: seqno '' is not an integer"),
        (grastate_text(seqno="-2"), "line 4: seqno -2 is below -1"),
        (grastate_text(uuid="not-a-uuid"), "line 3: uuid 'not-a-uuid' is not a UUID"),
        (grastate_text(uuid=UUID_A[:-1]), "line 3: uuid"),
        (grastate_text(uuid="{" + UUID_A + "}"), "line 3: uuid"),
        (grastate_text() + "this line has no colon\n", "line 6: expected 'key: value'"),
        (grastate_text() + ": no key\n", "line 6: expected 'key: value'"),
        (grastate_text() + "seqno: 43\n", "line 6: 'seqno' appears twice"),
        (grastate_text() + f"uuid: {UUID_A}\n", "line 6: 'uuid' appears twice"),
        (grastate_text() + "safe_to_bootstrap: 1\n", "line 6: 'safe_to_bootstrap' appears twice"),
        (grastate_text(safe_to_bootstrap="2"), "line 5: safe_to_bootstrap '2' is not 0 or 1"),
        (grastate_text(safe_to_bootstrap="yes"), "line 5: safe_to_bootstrap 'yes'"),
        (grastate_text(safe_to_bootstrap=""), "line 5: safe_to_bootstrap ''"),
        (grastate_text() + "\x00\x00\x00", "contains NUL bytes"),
        ("\x00" * 64, "contains NUL bytes"),
    ],
    ids=[
        "truncated-before-seqno",
        "no-uuid",
        "empty-file",
        "only-header",
        "seqno-word",
        "seqno-float",
        "seqno-empty",
        "seqno-below-minus-one",
        "uuid-garbage",
        "uuid-short",
        "uuid-braced",
        "line-without-colon",
        "line-without-key",
        "duplicate-seqno",
        "duplicate-uuid",
        "duplicate-safe-flag",
        "safe-flag-2",
        "safe-flag-word",
        "safe-flag-empty",
        "trailing-nul-bytes",
        "all-nul-bytes",
    ],
)
def test_corrupt_file_names_the_file_and_the_problem(text: str, expected: str) -> None:
    with pytest.raises(CorruptGrastate) as raised:
        parse(text, SOURCE)
    message = str(raised.value)
    assert message.startswith(SOURCE)
    assert expected in message


def test_source_defaults_to_grastate_dat() -> None:
    with pytest.raises(CorruptGrastate, match=r"^grastate\.dat: no 'uuid' line"):
        parse("seqno: 1\n")


@pytest.mark.parametrize("seqno", ["1_000", "\u0663"], ids=["underscore", "arabic-indic-digit"])
def test_seqno_that_galera_never_writes_is_corrupt(seqno: str) -> None:
    with pytest.raises(CorruptGrastate, match="line 4: seqno"):
        parse(grastate_text(seqno=seqno), SOURCE)


# --- Properties ---------------------------------------------------------------------------

uuids = st.uuids().map(str)
seqnos = st.integers(min_value=-1, max_value=2**63 - 1)
versions = st.sampled_from(["2.1", "2.2", "3"])


@given(uuid=uuids, seqno=seqnos, safe=st.booleans(), version=versions)
def test_render_then_parse_round_trips(uuid: str, seqno: int, safe: bool, version: str) -> None:
    state = Grastate(version, uuid, seqno, safe)
    assert parse(state.render(), SOURCE) == state


lines = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["version", "uuid", "seqno", "safe_to_bootstrap", "x"]).flatmap(
        lambda key: st.text(max_size=40).map(lambda value: f"{key}: {value}")
    ),
    uuids.map(lambda u: f"uuid: {u}"),
    seqnos.map(lambda n: f"seqno: {n}"),
)


@given(st.one_of(st.text(), st.lists(lines, max_size=8).map("\n".join)))
def test_any_text_parses_or_is_reported_corrupt(text: str) -> None:
    try:
        state = parse(text, SOURCE)
    except CorruptGrastate as e:
        assert str(e).startswith(SOURCE)
    else:
        assert isinstance(state, Grastate)
        assert state.seqno >= -1
