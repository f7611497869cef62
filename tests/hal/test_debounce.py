"""The pure debouncers, with hand-made timelines (seconds) instead of sleeps."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hal.debounce import HookDebouncer, KeyDebouncer

SCAN = 0.005


def run_keys(deb: KeyDebouncer[str], timeline: list[tuple[float, set[str]]]) -> list[tuple[float, str]]:
    """Feed (time, keys down) samples; return (time rounded to 1 us, key) for every reported press."""
    return [(round(t, 6), key) for t, down in timeline for key in deb.update(down, t)]


def hold(keys: set[str], start: float, seconds: float) -> list[tuple[float, set[str]]]:
    steps = round(seconds / SCAN)
    return [(start + i * SCAN, keys) for i in range(steps + 1)]


def test_key_reported_once_after_stable_for_debounce() -> None:
    deb: KeyDebouncer[str] = KeyDebouncer(20)
    presses = run_keys(deb, hold({"5"}, 0.0, 0.1))
    assert presses == [(0.020, "5")]


def test_key_not_reported_before_debounce() -> None:
    deb: KeyDebouncer[str] = KeyDebouncer(20)
    assert run_keys(deb, hold({"5"}, 0.0, 0.015)) == []
    assert run_keys(deb, [(0.016, set())]) == []
    assert deb.held() == set()


def test_holding_never_repeats() -> None:
    deb: KeyDebouncer[str] = KeyDebouncer(20)
    presses = run_keys(deb, hold({"5"}, 0.0, 5.0))
    assert [key for _, key in presses] == ["5"]
    assert deb.held() == {"5"}


def test_bounce_on_press_times_from_the_last_change() -> None:
    deb: KeyDebouncer[str] = KeyDebouncer(20)
    bouncy = [(0.000, {"1"}), (0.005, set()), (0.010, {"1"}), (0.015, set()), (0.020, {"1"})]
    steady = hold({"1"}, 0.025, 0.05)
    presses = run_keys(deb, bouncy + steady)
    assert presses == [(0.040, "1")]


def test_bounce_on_release_is_not_a_second_press() -> None:
    deb: KeyDebouncer[str] = KeyDebouncer(20)
    timeline = hold({"1"}, 0.0, 0.05)
    # Release bounces: up for less than the debounce time, down again, then really up.
    timeline += [(0.055, set()), (0.060, {"1"}), (0.065, set()), (0.070, {"1"})]
    timeline += hold(set(), 0.075, 0.1)
    assert [k for _, k in run_keys(deb, timeline)] == ["1"]


def test_release_must_be_stable_before_a_new_press() -> None:
    deb: KeyDebouncer[str] = KeyDebouncer(20)
    timeline = hold({"1"}, 0.0, 0.05) + hold(set(), 0.055, 0.01) + hold({"1"}, 0.07, 0.05)
    assert [k for _, k in run_keys(deb, timeline)] == ["1"]
    timeline = hold(set(), 0.2, 0.03) + hold({"1"}, 0.235, 0.05)
    assert [k for _, k in run_keys(deb, timeline)] == ["1"]


def test_keys_are_independent() -> None:
    deb: KeyDebouncer[str] = KeyDebouncer(20)
    timeline = hold({"1"}, 0.0, 0.01) + hold({"1", "2"}, 0.015, 0.05)
    assert run_keys(deb, timeline) == [(0.020, "1"), (0.035, "2")]


def test_zero_debounce_reports_at_first_sample() -> None:
    deb: KeyDebouncer[str] = KeyDebouncer(0)
    assert deb.update({"9"}, 1.0) == ["9"]
    assert deb.update({"9"}, 1.005) == []


def test_negative_debounce_is_rejected() -> None:
    with pytest.raises(ValueError):
        KeyDebouncer(-1)
    with pytest.raises(ValueError):
        HookDebouncer(-1, False)


def chatter(deb: HookDebouncer, start: float, seconds: float, hz: float, poll: float = 0.001) -> list[bool]:
    """A square wave of `hz` (off-hook first) sampled every `poll` s; return the reports."""
    half = 1 / (2 * hz)
    reports = []
    for i in range(round(seconds / poll)):
        level = int(i * poll / half + 1e-9) % 2 == 0
        reports.append(deb.update(level, start + i * poll))
    return [r for r in reports if r is not None]


def test_hook_change_reported_after_stable() -> None:
    deb = HookDebouncer(30, initial=False, now=0.0)
    reports = [deb.update(True, t / 1000) for t in range(0, 50, 5)]
    assert [r for r in reports if r is not None] == [True]
    assert reports.index(True) == 6  # at 30 ms
    assert deb.state is True


def test_hook_chatter_at_50hz_reports_nothing_while_it_lasts() -> None:
    deb = HookDebouncer(30, initial=False, now=0.0)
    assert chatter(deb, 0.0, 1.0, 50.0) == []
    assert deb.state is False


def test_hook_chatter_reports_only_the_final_settled_state() -> None:
    deb = HookDebouncer(30, initial=False, now=0.0)
    assert chatter(deb, 0.0, 0.5, 50.0) == []
    settle = [deb.update(True, 0.5 + i * 0.005) for i in range(20)]
    assert [r for r in settle if r is not None] == [True]


def test_hook_chatter_ending_where_it_began_reports_nothing() -> None:
    deb = HookDebouncer(30, initial=True, now=0.0)
    for i in range(50):
        assert deb.update(i % 2 == 1, i * 0.01) is None
    assert [deb.update(True, 0.5 + i * 0.005) for i in range(20)] == [None] * 20


@settings(max_examples=200, deadline=None)
@given(
    debounce_ms=st.integers(0, 50),
    samples=st.lists(st.tuples(st.integers(1, 40), st.booleans()), max_size=200),
)
def test_hook_reports_alternate_and_each_level_was_stable(
    debounce_ms: int, samples: list[tuple[int, bool]]
) -> None:
    """Any sample stream: reports never repeat a position, and each one lasted the debounce time."""
    deb = HookDebouncer(debounce_ms, initial=False, now=0.0)
    t_ms, last, since = 0, False, 0
    previous = False
    for gap_ms, level in samples:
        t_ms += gap_ms
        if level != last:
            last, since = level, t_ms
        report = deb.update(level, t_ms / 1000)
        if report is not None:
            assert report != previous
            assert report == level
            assert t_ms - since >= debounce_ms
            previous = report
    assert deb.state == previous
