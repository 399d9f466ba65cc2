import pytest

import rewardsmith
from rewardsmith import R
from rewardsmith.core import catalog
from rewardsmith.errors import ConfigError, UnknownRewardError

FOUNDATION = [
    "format.think_answer",
    "format.regex",
    "qa.exact_match",
    "qa.f1",
    "qa.cover_em",
    "length.cosine",
    "length.overlong",
    "math.answer",
]


@pytest.mark.parametrize("name", FOUNDATION)
def test_foundation_rewards_are_registered_with_a_paper_and_a_range(name):
    entry = {e.name: e for e in catalog()}[name]
    assert entry.kind == "reward"
    assert entry.paper is not None and entry.paper.title
    assert entry.range[0] <= entry.range[1]
    assert entry.summary


def test_unknown_name_suggests_the_closest():
    with pytest.raises(UnknownRewardError) as exc:
        rewardsmith.load("qa.f2")
    assert "qa.f1" in str(exc.value)
    assert exc.value.suggestions[0] == "qa.f1"


def test_bad_parameter_names_the_parameter_and_type():
    with pytest.raises(ConfigError) as exc:
        rewardsmith.load("qa.f1", require_tags="sometimes", colour=3)
    message = str(exc.value)
    assert "qa.f1" in message
    assert "require_tags" in message and "boolean" in message
    assert "colour: unknown parameter" in message


def test_R_and_load_build_the_same_reward():
    a, b = R.qa.f1(require_tags=False), rewardsmith.load("qa.f1", require_tags=False)
    assert type(a) is type(b) and a.params == b.params
    with pytest.raises(UnknownRewardError):
        R.qa.nothing_here()


def test_transforms_are_not_rewards():
    with pytest.raises(UnknownRewardError):
        rewardsmith.load("transform.clamp")


def test_public_namespace_is_curated():
    assert rewardsmith.__all__ == sorted(rewardsmith.__all__)
    for name in rewardsmith.__all__:
        assert hasattr(rewardsmith, name)


_NO_METADATA = """
import importlib.metadata as md
from rewardsmith.core import registry

class EP:
    def __init__(self, name, value):
        self.name, self.value = name, value

registry.entry_points = lambda group: {plugins}
import rewardsmith
print(rewardsmith.load("math.answer").name, len(registry.catalog()) > 40)
print(sorted(registry.broken_plugins()))
"""


@pytest.mark.parametrize(
    "plugins,broken",
    [("[]", "[]"), ("[EP('mine', 'no_such_plugin_module'), EP('x', 'json')]", "['mine']")],
    ids=["no package metadata", "a broken plugin"],
)
def test_built_ins_load_without_metadata_and_past_a_broken_plugin(plugins, broken):
    import subprocess
    import sys

    # plain PYTHONPATH or Ray py_modules: no entry points at all; or a plugin that breaks
    done = subprocess.run(
        [sys.executable, "-c", _NO_METADATA.format(plugins=plugins)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["math.answer True", broken]
