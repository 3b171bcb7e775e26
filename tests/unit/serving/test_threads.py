"""When a sync function may run inline: ``ProvedShort``'s rule, fed call durations."""

from headwater.serving.threads import ProvedShort


def feed(proof: ProvedShort, seconds: float, times: int) -> None:
    for _ in range(times):
        proof.record(seconds)


def test_a_window_of_short_calls_goes_inline_and_not_before() -> None:
    proof = ProvedShort(short=0.001, long=0.02, window=10, slack=0.1)
    feed(proof, 0.0001, 9)
    assert not proof.inline
    proof.record(0.0001)
    assert proof.inline


def test_a_few_calls_over_short_are_tolerated_more_are_not() -> None:
    proof = ProvedShort(short=0.001, long=0.02, window=10, slack=0.1)
    feed(proof, 0.0001, 9)
    proof.record(0.005)  # one in ten over short: within the slack
    assert proof.inline
    slow = ProvedShort(short=0.001, long=0.02, window=10, slack=0.1)
    feed(slow, 0.005, 2)
    feed(slow, 0.0001, 8)
    assert not slow.inline


def test_a_long_call_while_proving_starts_the_proof_again() -> None:
    proof = ProvedShort(short=0.001, long=0.02, window=10, slack=0.1)
    feed(proof, 0.0001, 9)
    proof.record(0.5)
    feed(proof, 0.0001, 9)
    assert not proof.inline
    proof.record(0.0001)
    assert proof.inline


def test_one_long_inline_call_sends_calls_back_to_threads_and_the_next_proof_is_longer() -> None:
    proof = ProvedShort(short=0.001, long=0.02, window=10, slack=0.1)
    feed(proof, 0.0001, 10)
    proof.record(0.03)
    assert not proof.inline
    assert proof.demotions == 1
    feed(proof, 0.0001, 39)
    assert not proof.inline
    proof.record(0.0001)
    assert proof.inline


def test_an_inline_function_that_got_slower_goes_back_to_threads() -> None:
    proof = ProvedShort(short=0.001, long=0.02, window=10, slack=0.1)
    feed(proof, 0.0001, 10)
    feed(proof, 0.005, 9)  # each under long, but most over short
    assert proof.inline
    proof.record(0.005)
    assert not proof.inline


def test_after_max_demotions_calls_stay_in_threads() -> None:
    proof = ProvedShort(short=0.001, long=0.02, window=2, slack=0.0, max_demotions=2)
    for _ in range(2):
        feed(proof, 0.0001, 2 * 4**proof.demotions)
        assert proof.inline
        proof.record(1.0)
    feed(proof, 0.0001, 1000)
    assert not proof.inline
