import textwrap

import pytest

from helpers_rewards import Length  # noqa: F401 - keeps helper import paths consistent
from rewardsmith import load_spec
from rewardsmith.core import Gate, Sample, Schedule, Shape, Sum
from rewardsmith.errors import SpecError
from rewardsmith.runtime import Cached, Isolated, Threaded
from rewardsmith.spec import builtin_specs, parse_spec


@pytest.mark.parametrize("name", sorted(builtin_specs()))
def test_every_builtin_spec_validates_and_scores(name):
    reward = load_spec(name)
    out = reward.score(
        [Sample(prompt="p", completion="<think>x</think><answer>4</answer>", reference="4")]
    )
    assert len(out) == 1


def test_default_spec_is_a_format_gate_around_math_answer():
    reward = load_spec("math-r1")
    assert isinstance(reward, Gate)
    assert [c.name for c in reward.children[:2]] == ["format.think_answer", "math.answer"]
    good = Sample(completion="<think>2+2</think><answer>4</answer>", reference="4")
    wrong = Sample(completion="<think>2+2</think><answer>5</answer>", reference="4")
    bad = Sample(completion="4", reference="4")
    assert [s.value for s in reward.score([good, wrong, bad])] == [1.0, 0.0, 0.0]


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_yaml_and_toml_build_the_same_tree(tmp_path):
    y = write(
        tmp_path,
        "s.yaml",
        """
        name: demo
        reward:
          sum:
            - {use: qa.f1, weight: 2.0, name: f1}
            - {use: qa.exact_match, with: {require_tags: false}}
        """,
    )
    t = write(
        tmp_path,
        "s.toml",
        """
        name = "demo"
        [reward]
        sum = [
          {use = "qa.f1", weight = 2.0, name = "f1"},
          {use = "qa.exact_match", with = {require_tags = false}},
        ]
        """,
    )
    a, b = load_spec(y), load_spec(t)
    sample = [Sample(completion="<answer>Paris</answer>", reference="Paris")]
    assert a.score(sample) == b.score(sample)
    assert a.score(sample)[0].value == 3.0
    assert set(a.score(sample)[0].parts) >= {"f1", "qa.exact_match"}


def test_every_problem_is_reported_with_its_path(tmp_path):
    spec = write(
        tmp_path,
        "bad.yaml",
        """
        name: bad
        reward:
          gate:
            if: {use: format.think_anwser}
            then:
              sum:
                - {use: qa.f1, with: {require_tags: maybe}}
                - {use: length.cosine, with: {max_tokens: many}, wieght: 0.1}
                - {use: qa.f1, weight: "heavy"}
            otherwise: {use: qa.f1, weight: 2}
        extra: 1
        """,
    )
    with pytest.raises(SpecError) as exc:
        load_spec(spec)
    problems = exc.value.problems
    text = str(exc.value)
    assert (
        "reward.gate.if.use: unknown reward 'format.think_anwser'; did you mean format.think_answer"
        in text
    )
    assert any(p.startswith("reward.gate.then.sum[0].with: qa.f1: require_tags") for p in problems)
    assert any(
        p.startswith("reward.gate.then.sum[1].with: length.cosine: max_tokens") for p in problems
    )
    assert "reward.gate.then.sum[1].wieght: unknown key; did you mean 'weight'?" in problems
    assert any(p.startswith("reward.gate.then.sum[2].weight:") for p in problems)
    assert "reward.gate.otherwise.weight: weight only applies to a child of sum" in problems
    assert any(p.startswith("extra: unknown top-level key") for p in problems)
    assert len(problems) == 7


@pytest.mark.parametrize(
    ("reward", "fragment"),
    [
        ({"use": "qa.f1", "sum": []}, "exactly one of"),
        ({"sum": []}, "non-empty list"),
        ({"gate": {"then": 1.0}}, "missing 'if'"),
        ("qa.f1", "expected a reward"),
        ({"use": "qa.f1", "timeout": -1}, "must be > 0"),
        (
            {"shape": {"reward": 1.0, "transform": "transform.nope"}},
            "unknown reward 'transform.nope'",
        ),
        ({"schedule": {"reward": 1.0, "weight": {"kind": "zigzag"}}}, "reward.schedule.weight"),
        ({"sum": [{"use": "qa.f1"}], "on_error": "ignore"}, "reward.on_error"),
    ],
    ids=[
        "two-kinds",
        "empty-sum",
        "gate-without-if",
        "bare-string",
        "negative-timeout",
        "unknown-transform",
        "unknown-schedule",
        "bad-on-error",
    ],
)
def test_malformed_nodes(reward, fragment):
    with pytest.raises(SpecError) as exc:
        parse_spec({"name": "x", "reward": reward})
    assert fragment in str(exc.value)


def test_missing_file_and_unknown_builtin():
    with pytest.raises(SpecError, match="file not found"):
        load_spec("nowhere.yaml")
    with pytest.raises(SpecError, match=r"built-in: .*math-r1"):
        load_spec("math-r2")


def test_runtime_options_wrap_the_leaf():
    tree = parse_spec(
        {
            "reward": {
                "sum": [
                    {"use": "qa.f1", "timeout": 2.0, "cache": True},
                    {"use": "qa.exact_match", "threads": 4},
                ]
            }
        }
    )
    assert isinstance(tree, Sum)
    cached, threaded = tree.children
    assert isinstance(cached, Cached) and isinstance(cached.inner, Isolated)
    assert isinstance(threaded, Threaded)
    assert tree.labels == ["qa.f1", "qa.exact_match"]


def test_shape_and_schedule_from_spec():
    tree = parse_spec(
        {
            "reward": {
                "sum": [
                    {
                        "shape": {
                            "reward": {"use": "qa.f1"},
                            "transform": {
                                "use": "transform.affine",
                                "with": {"scale": 2.0, "offset": -1.0},
                            },
                        }
                    },
                    {
                        "schedule": {
                            "reward": {"use": "qa.exact_match"},
                            "weight": {"kind": "linear", "start": 1.0, "end": 0.0, "steps": 4},
                        }
                    },
                ]
            }
        }
    )
    shape, schedule = tree.children
    assert isinstance(shape, Shape) and isinstance(schedule, Schedule)
    out = tree.score([Sample(completion="<answer>Paris</answer>", reference="Paris")])[0]
    assert out.value == 2.0
    assert out.parts["shape"] == 1.0 and out.parts["shape/qa.f1"] == 1.0


def test_threads_have_a_deadline_by_default_and_take_the_specs_timeout():
    import time

    from rewardsmith.runtime import Threaded
    from rewardsmith.spec.build import THREAD_TIMEOUT_S

    plain = parse_spec({"name": "t", "reward": {"use": "qa.f1", "threads": 2}})
    assert isinstance(plain, Threaded) and plain.timeout == THREAD_TIMEOUT_S
    given = parse_spec({"name": "t", "reward": {"use": "qa.f1", "threads": 2, "timeout": 0.5}})
    assert isinstance(given, Threaded) and given.timeout == 0.5
    # an item that never answers in time (and whose late answer is a float, so its thread
    # ends cleanly during some later test)
    given.inner.score_one = lambda sample: time.sleep(30) or 0.0
    start = time.monotonic()
    (s,) = given.score([Sample(completion="<answer>x</answer>", reference="x")])
    assert s.status.value == "timeout" and time.monotonic() - start < 10  # hang guard
