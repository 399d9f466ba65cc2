import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import rewardsmith
from helpers_rewards import REQUIRED_PARAMS
from helpers_scripts import ROOT
from rewardsmith import R
from rewardsmith.core import ItemReward, NoParams, Params, Sample, Tokens, catalog, registry
from rewardsmith.core.registry import ALIASES, build, get, register
from rewardsmith.core.tree import WORK_KINDS, part_names, work_kinds
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
    lo, hi = entry.range or _build(name).range  # None: the parameters set it
    assert lo <= hi
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
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["math.answer True", broken]


# Every reward declares its name, range, parts and work on its class; the catalog reads them
# from there (issue 16).

REQUIRED = REQUIRED_PARAMS
ENTRIES = {e.name: e for e in catalog()}
REWARDS = sorted(n for n, e in ENTRIES.items() if e.kind == "reward")
DEFAULT_BUILT = [n for n in REWARDS if n not in REQUIRED]

_META = {
    "correct": True,
    "conciseness": 0.5,
    "difficulty": 0.2,
    "step_rewards": [0.9, 0.3, 0.6],
    "bottom_line": [1.0, 0.8],
    "behaviour": [0.5, 0.7],
    "levels": [[1.0], [0.6, 0.8]],
    "answer_score": 0.9,
    "think_score": 0.7,
    "think_end": 1,
    "reference_rewards": [0.2, 0.8],
    "acre_second": "<answer>B</answer>",
    "acre_permutation": [2, 0, 3, 1],
    "predicted_answers": ["It is Paris."],
    "memory_tokens": 100,
    "chunk_tokens": 400,
    "tool_calls": [{"success": True}],
    "content_verdicts": ["VALID"],
}
_TOKENS = Tokens(ids=[1, 2, 3, 4], entropies=[0.9, 0.5, 0.2, 0.1])
_CALL = {"name": "get_weather", "arguments": {"city": "Paris"}}
_SEARCH = (
    "<search>capital of France</search><information>Paris is the capital.</information>"
    "<answer>Paris</answer>"
)
SAMPLES = [  # correct, wrong and empty answers, with the references and meta rewards read
    Sample(
        prompt="2+2?",
        completion="<think>2+2=4</think><answer>4</answer>",
        reference="4",
        group="q",
        meta=_META,
        tokens=_TOKENS,
    ),
    Sample(
        prompt="2+2?",
        completion="<think>hmm</think><answer>5</answer>",
        reference="4",
        group="q",
        meta={**_META, "correct": False},
        tokens=_TOKENS,
    ),
    Sample(prompt="2+2?", completion="", reference="4", group="q"),
    Sample(
        prompt="Capital of France?", completion=_SEARCH, reference=["Paris", "paris"], meta=_META
    ),
    Sample(
        prompt="Capital of France?",
        completion="<answer>- Paris\n- the Seine</answer>",
        reference={"findings": ["Paris is the capital"]},
    ),
    Sample(
        completion="<answer>A</answer>",
        reference={"answer": "B", "options": ["Paris", "Rome", "Berlin", "Madrid"]},
        meta=_META,
    ),
    Sample(
        completion='```json\n{"a": 1}\n```',
        reference={"schema": {"type": "object", "required": ["a", "b"]}},
    ),
    Sample(
        completion=f"<think>call</think>\n<tool_call>\n{json.dumps(_CALL)}\n</tool_call>",
        reference={"tool_calls": [_CALL]},
    ),
    Sample(reference={"gold_answers": ["Paris"], "check": "substring"}, meta=_META),
]


def _build(name):
    return ENTRIES[name].build(REQUIRED.get(name))


@pytest.mark.parametrize("name", DEFAULT_BUILT)
def test_catalog_name_and_range_are_the_built_objects(name):
    reward = rewardsmith.load(name)
    assert reward.name == name
    assert ENTRIES[name].range == reward.range


@pytest.mark.parametrize("name", REWARDS)
def test_scores_write_only_the_declared_parts(name):
    reward = _build(name)
    declared = part_names(reward)
    assert len(set(declared)) == len(declared)
    for sample, score in zip(SAMPLES, reward.score(SAMPLES), strict=True):
        assert set(score.parts) <= set(declared), (sample, score)


@pytest.mark.parametrize(
    "name, params, sample, parts",
    [
        ("json.schema", {"partial_credit": True}, SAMPLES[6], ["required"]),
        (
            "process.reasoning_pattern",
            {"rm_key": "think_score"},
            SAMPLES[0],
            ["rm", "rpr", "patterns", "repetition"],
        ),
        ("memory.mem_alpha", {"beta": 0.0, "gamma": 0.0}, SAMPLES[8], ["acc", "tool"]),
        ("aggregate.hierarchy", {"weights": [1, 1]}, SAMPLES[0], ["L1", "L2", "unlocked"]),
    ],
    ids=["partial credit", "rm calibration", "no compression or content", "two levels"],
)
def test_part_names_follow_the_parameters(name, params, sample, parts):
    reward = ENTRIES[name].build(params)
    assert part_names(reward) == parts
    assert set(reward.score([sample])[0].parts) == set(parts)


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_every_entry_declares_a_known_work_kind(name):
    assert getattr(_build(name), "work", "cpu") in WORK_KINDS


@pytest.mark.parametrize(
    "name, work",
    [
        ("code.unit_tests", "io"),
        ("sql.execution", "io"),
        ("search.subsearch", "model"),
        ("search.o2_searcher", "model"),
        ("qa.f1", "cpu"),
    ],
)
def test_rewards_that_wait_or_run_a_model_say_so(name, work):
    assert work_kinds(_build(name)) == {work}


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_a_range_set_by_parameters_is_none_in_the_catalog(name):
    assert ENTRIES[name].range is None
    assert ENTRIES[name].describe()["range"] is None
    built = _build(name)  # built with its parameters, it has one
    lo, hi = built.range if ENTRIES[name].kind == "reward" else built.out_range((0.0, 1.0))
    assert lo <= hi


def test_crf_catalog_no_longer_contradicts_what_it_builds():
    # the catalog said (0, inf) while the object builds (0, 1 + alpha * (s + 1))
    assert rewardsmith.load("efficiency.crf", alpha=0.5, s=1.0).range == (0.0, 2.0)
    assert ENTRIES["efficiency.crf"].range is None
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("rewardsmith")), "list", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    listed = {e["name"]: e for e in json.loads(proc.stdout)}
    assert listed["efficiency.crf"]["range"] is None
    assert listed["search.parallel"]["range"] == list(rewardsmith.load("search.parallel").range)


def test_transform_range_is_what_an_unbounded_input_gives():
    assert ENTRIES["transform.sigmoid"].range == (0.0, 1.0)
    assert ENTRIES["transform.affine"].range == (-math.inf, math.inf)
    assert ENTRIES["transform.clamp"].range is None  # low and high are required


class _ShoutParams(Params):
    min_ratio: float = 0.5


class _Shout(ItemReward):
    name = "test.registry_shout"

    def __init__(self, params: _ShoutParams | None = None) -> None:
        self.params = params or _ShoutParams()

    def score_one(self, sample):
        return 1.0


class _Plain(ItemReward):
    name = "test.registry_plain"

    def score_one(self, sample):
        return 1.0


@pytest.fixture
def scratch_registry(monkeypatch):
    """Registrations made by a test vanish after it."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))


def test_a_class_registers_its_name_parameters_and_range(scratch_registry):
    assert register(summary="test")(_Shout) is _Shout
    assert register(summary="test")(_Plain) is _Plain
    shout, plain = get("test.registry_shout"), get("test.registry_plain")
    assert shout.params is _ShoutParams and plain.params is NoParams
    assert shout.build({"min_ratio": 0.9}).params.min_ratio == 0.9
    assert isinstance(plain.build(), _Plain) and plain.range == (0.0, 1.0)
    with pytest.raises(ConfigError, match="registered twice"):
        register("test.registry_shout", summary="again")(lambda p: _Shout(p))


@pytest.mark.parametrize(
    "decorate, match",
    [
        (lambda: register("x.named", summary="s")(_Plain), "declares its name"),
        (lambda: register(summary="s")(type("Nameless", (ItemReward,), {})), "needs a 'name'"),
        (lambda: register(summary="s")(lambda p: p), "needs a name"),
    ],
    ids=["class with a name", "class without name", "function without name"],
)
def test_register_refuses_what_it_cannot_read(decorate, match, scratch_registry):
    with pytest.raises(TypeError, match=match):
        decorate()


def test_init_must_type_its_parameters(scratch_registry):
    class Untyped(ItemReward):
        name = "test.registry_untyped"

        def __init__(self, params) -> None:
            self.params = params

    with pytest.raises(TypeError, match="Params model"):
        register(summary="s")(Untyped)


# A registry name's prefix names its module or package (issue 16): a newcomer finds
# math.answer's code in verifiable/math/, transform.group_zscore's in shaping/transforms/.


def _prefix_table() -> dict[str, str]:
    """docs/catalog.md's "prefix | module" table: prefix -> path under src/rewardsmith/."""
    lines = (ROOT / "docs" / "catalog.md").read_text().splitlines()
    start = lines.index("| prefix | module |") + 2  # past the header and its rule
    rows = {}
    for line in itertools.takewhile(lambda x: x.startswith("|"), lines[start:]):
        prefix, module = (c.strip().strip("`") for c in line.strip("|").split("|"))
        rows[prefix] = module
    return rows


BUILT_IN = [e for e in catalog() if e.factory.__module__.startswith("rewardsmith.")]
PREFIXES = sorted({e.name.split(".")[0] for e in BUILT_IN})


@pytest.mark.parametrize("prefix", PREFIXES)
def test_a_names_prefix_names_the_module_that_defines_it(prefix):
    where = _prefix_table().get(prefix)
    assert where is not None, f"docs/catalog.md has no row for {prefix!r}"
    stem = Path(where.rstrip("/")).stem
    assert stem in (prefix, f"{prefix}s"), f"{prefix!r} is documented in {where}"
    for entry in (e for e in BUILT_IN if e.name.split(".")[0] == prefix):
        parts = entry.factory.__module__.split(".")
        assert prefix in parts or f"{prefix}s" in parts, (entry.name, entry.factory.__module__)
        path = "/".join(parts[1:]) + ".py"
        assert path == where or (where.endswith("/") and path.startswith(where)), (
            entry.name,
            path,
            where,
        )
        assert (ROOT / "src" / "rewardsmith" / path).is_file()


def test_the_prefix_table_lists_only_registered_prefixes():
    assert sorted(_prefix_table()) == PREFIXES


def test_former_names_still_load_and_are_not_listed():
    listed = {e.name for e in catalog()}
    for old, new in ALIASES.items():
        assert old not in listed and new in listed
        assert get(old) is get(new)
    assert rewardsmith.load("shape.clip", eta=0.5).name == "process.clip"
    assert build("shape.par", kind="transform").name == "transform.par"
