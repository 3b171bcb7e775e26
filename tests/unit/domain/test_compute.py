"""Compute templates and resource accounting (seed 002: a task tries its computes in order)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.compute import (
    ZERO,
    ComputeTemplate,
    Resources,
    check_custom,
    check_template,
    choose_compute,
    fits_ever,
    never_fits,
)
from headwater.domain.errors import InvalidInput

AMOUNTS = st.builds(
    Resources,
    cpus=st.integers(0, 64).map(lambda c: c / 4),
    memory_mb=st.integers(0, 1 << 20),
    gpus=st.integers(0, 8),
)


def template(
    name: str, cpus: float, memory_mb: int, gpus: int = 0, owner: str | None = None
) -> ComputeTemplate:
    return ComputeTemplate(name, Resources(cpus, memory_mb, gpus), owner)


SMALL = template("small", 1, 1024)
LARGE = template("large", 8, 16384)
GPU = template("gpu", 4, 8192, 1)
MINE = template("mine", 1, 512, owner="u1")
TEMPLATES = {t.name: t for t in (SMALL, LARGE, GPU, MINE)}


# -- resources -----------------------------------------------------------------------------------


def test_resources_add_subtract_and_fit() -> None:
    a, b = Resources(2.0, 4096, 1), Resources(0.5, 1024, 0)
    assert a + b == Resources(2.5, 5120, 1)
    assert a - b == Resources(1.5, 3072, 1)
    assert b - a == Resources(-1.5, -3072, -1)  # negative while accounting
    assert b.fits_in(a)
    assert not a.fits_in(b)
    assert a.fits_in(a)
    assert not Resources(1.0, 1024, 1).fits_in(Resources(8.0, 65536, 0))  # one short is short
    assert str(a) == "2 CPU, 4096 MiB, 1 GPU"


def test_fractions_of_a_core_add_up_without_float_noise() -> None:
    used = Resources(0.1, 0, 0) + Resources(0.2, 0, 0)
    assert used.fits_in(Resources(0.3, 0, 0))


@given(AMOUNTS, AMOUNTS)
def test_accounting_round_trips(a: Resources, b: Resources) -> None:
    back = (a + b) - b
    assert (back.memory_mb, back.gpus) == (a.memory_mb, a.gpus)
    assert math.isclose(back.cpus, a.cpus, abs_tol=1e-9)
    assert a.fits_in(a + b)
    assert b.fits_in(a + b)
    assert ZERO.fits_in(a)
    assert ((a + b) - a - b).fits_in(ZERO)


# -- templates -----------------------------------------------------------------------------------


def test_a_valid_template() -> None:
    made = check_template("gpu-large.v2", 0.5, 2048, 1)
    assert made == ComputeTemplate("gpu-large.v2", Resources(0.5, 2048, 1))
    assert made.owner_id is None  # shared unless the caller makes it someone's
    assert check_template("c", 2, 1, 0).resources.cpus == 2.0


@pytest.mark.parametrize(
    ("args", "where"),
    [
        (("", 1, 1024, 0), "name"),
        (("GPU", 1, 1024, 0), "name"),
        (("-gpu", 1, 1024, 0), "name"),
        (("gpu large", 1, 1024, 0), "name"),
        (("g" * 64, 1, 1024, 0), "name"),
        (("gpu", 0, 1024, 0), "cpus"),
        (("gpu", -1, 1024, 0), "cpus"),
        (("gpu", math.nan, 1024, 0), "cpus"),
        (("gpu", math.inf, 1024, 0), "cpus"),
        (("gpu", 1, 0, 0), "memory_mb"),
        (("gpu", 1, 1.5, 0), "memory_mb"),
        (("gpu", 1, True, 0), "memory_mb"),
        (("gpu", 1, 1024, -1), "gpus"),
        (("gpu", 1, 1024, 0.5), "gpus"),
    ],
)
def test_bad_templates_name_the_field(args: tuple[str, float, int, int], where: str) -> None:
    with pytest.raises(InvalidInput) as info:
        check_template(*args)
    assert info.value.where == where
    assert info.value.hint


def test_the_longest_name_is_63_characters() -> None:
    assert check_template("g" * 63, 1, 1, 0).name == "g" * 63


# -- choosing ------------------------------------------------------------------------------------


def test_the_first_requested_template_that_fits_now_wins() -> None:
    free = Resources(4.0, 8192, 1)
    assert choose_compute(["large", "gpu", "small"], TEMPLATES, free) == GPU
    assert choose_compute(["small", "gpu"], TEMPLATES, free) == SMALL


def test_none_fits_now_means_wait() -> None:
    assert choose_compute(["large", "gpu"], TEMPLATES, Resources(2.0, 4096, 0)) is None
    assert choose_compute(["small"], TEMPLATES, ZERO) is None


def test_an_unknown_name_fails_even_when_an_earlier_one_fits() -> None:
    with pytest.raises(InvalidInput) as info:
        choose_compute(["small", "huge"], TEMPLATES, Resources(64.0, 1 << 20, 8))
    assert info.value.where == "computes"
    assert "'huge'" in info.value.detail
    assert info.value.hint is not None
    assert "gpu, large, mine, small" in info.value.hint


def test_no_requested_name_fails() -> None:
    with pytest.raises(InvalidInput, match="no compute template requested"):
        choose_compute([], TEMPLATES, Resources(64.0, 1 << 20, 8))


def test_only_owned_compute_skips_the_others() -> None:
    free = Resources(64.0, 1 << 20, 8)
    assert choose_compute(["small", "mine"], TEMPLATES, free, only_owned_by="u1") == MINE
    assert choose_compute(["small", "mine"], TEMPLATES, ZERO, only_owned_by="u1") is None
    with pytest.raises(InvalidInput, match="only owned compute") as info:
        choose_compute(["small", "mine"], TEMPLATES, free, only_owned_by="u2")
    assert info.value.where == "computes"


def test_fits_ever_compares_with_the_whole_machine() -> None:
    machine = Resources(8.0, 16384, 0)
    assert fits_ever(LARGE, machine)
    assert not fits_ever(GPU, machine)


@given(st.lists(st.sampled_from(sorted(TEMPLATES)), min_size=1, max_size=6), AMOUNTS)
def test_the_choice_is_the_first_that_fits(requested: list[str], free: Resources) -> None:
    chosen = choose_compute(requested, TEMPLATES, free)
    fitting = [n for n in requested if TEMPLATES[n].resources.fits_in(free)]
    assert chosen == (TEMPLATES[fitting[0]] if fitting else None)


# -- custom resources ----------------------------------------------------------------------------

A100 = ComputeTemplate("a100", Resources(1.0, 1024, 0, {"accelerator_type:A100": 1.0}))


def test_a_template_names_custom_resources_and_they_are_accounted() -> None:
    made = check_template("a100", 1, 1024, 0, {"accelerator_type:A100": 1, "ssd": 0.5})
    assert made.resources.custom == {"accelerator_type:A100": 1.0, "ssd": 0.5}
    node = Resources(4.0, 8192, 0, {"accelerator_type:A100": 1.0, "ssd": 1.0})
    assert made.resources.fits_in(node)
    left = node - made.resources
    assert left == Resources(3.0, 7168, 0, {"ssd": 0.5})  # a used-up resource is dropped
    assert not made.resources.fits_in(left)  # the one A100 is taken
    assert left + made.resources == node
    assert str(made.resources) == "1 CPU, 1024 MiB, 0 GPU, 1 accelerator_type:A100, 0.5 ssd"


def test_a_custom_resource_the_machine_lacks_never_fits_and_says_which() -> None:
    machine = Resources(8.0, 65536, 0)
    assert not fits_ever(A100, machine)
    assert A100.resources.short_of(machine) == ["1 accelerator_type:A100 (there are 0)"]
    why = never_fits(["a100"], {"a100": A100}, machine)
    assert "a100 needs 1 accelerator_type:A100 (there are 0)" in why
    assert fits_ever(SMALL, machine)  # a template without custom resources is unchanged


@pytest.mark.parametrize(
    ("custom", "where", "says"),
    [
        ({"": 1}, "custom_resources", "not a usable resource name"),
        ({"-x": 1}, "custom_resources", "not a usable resource name"),
        ({"a b": 1}, "custom_resources", "not a usable resource name"),
        ({"x" * 65: 1}, "custom_resources", "not a usable resource name"),
        ({"GPU": 1}, "custom_resources.GPU", "not a custom resource"),
        ({"memory": 1}, "custom_resources.memory", "not a custom resource"),
        ({"ssd": 0}, "custom_resources.ssd", "above 0"),
        ({"ssd": -1}, "custom_resources.ssd", "above 0"),
        ({"ssd": math.nan}, "custom_resources.ssd", "above 0"),
        ({"ssd": math.inf}, "custom_resources.ssd", "above 0"),
        ({"ssd": True}, "custom_resources.ssd", "above 0"),
        ({"ssd": "1"}, "custom_resources.ssd", "above 0"),
        ({"ssd": 2e6}, "custom_resources.ssd", "at most"),
        ({"ssd": 1.5}, "custom_resources.ssd", "whole number"),
        ({f"r{i}": 1 for i in range(17)}, "custom_resources", "at most 16"),
    ],
)
def test_bad_custom_resources_are_refused_naming_the_field(
    custom: dict[str, object], where: str, says: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_custom(custom)
    assert caught.value.where == where
    assert says in str(caught.value)
    assert caught.value.hint


def test_custom_resource_names_as_ray_spells_them_are_accepted() -> None:
    names = {"accelerator_type:A100": 1, "TPU-v4-8-head": 1, "node:10.0.0.1": 0.01, "a/b.c_d": 2}
    assert check_custom(names) == {k: float(v) for k, v in names.items()}
    assert check_custom({f"r{i}": 1 for i in range(16)})  # the limit itself is fine
