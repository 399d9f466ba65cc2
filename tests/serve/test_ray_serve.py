"""``rewardsmith serve --ray``: the server as a Ray Serve deployment on a local Ray."""

from __future__ import annotations

import socket
import warnings

import httpx
import pytest
import ray

with warnings.catch_warnings():  # Ray Serve's models use pydantic-v1 style Field extras
    warnings.simplefilter("ignore")
    from ray import serve

import rewardsmith
from rewardsmith.serve.ray_serve import APP_NAME, deployment

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SAMPLES = [
    {"prompt": "2+2?", "completion": "<think>add</think><answer>4</answer>", "reference": "4"},
    {"prompt": "2+3?", "completion": "<think>add</think><answer>6</answer>", "reference": "5"},
    {"prompt": "2+3?", "completion": "no tags at all: 5", "reference": "5"},
]
TOKEN = {"Authorization": "Bearer s3cret"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    ray.init(
        num_cpus=3,
        include_dashboard=False,
        log_to_driver=False,
        _temp_dir=str(tmp_path_factory.mktemp("ray")),
    )
    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    serve.run(deployment("math-r1", replicas=2, token="s3cret"), name=APP_NAME, route_prefix="/")
    processes = deployment("math-r1", score_processes=1)
    serve.run(processes, name="processes", route_prefix="/processes")
    yield f"http://127.0.0.1:{port}"
    serve.shutdown()
    ray.shutdown()


def test_two_replicas_answer_score_like_in_process(url):
    replicas = serve.status().applications[APP_NAME].deployments[APP_NAME].replica_states
    assert replicas.get("RUNNING") == 2
    expected = [
        s.value
        for s in rewardsmith.load_spec("math-r1").score(
            [
                rewardsmith.Sample(
                    **{k: v for k, v in x.items() if k != "prompt"}, prompt=x["prompt"]
                )
                for x in SAMPLES
            ]
        )
    ]
    reply = httpx.post(
        f"{url}/score",
        json={"samples": SAMPLES},
        headers={"Authorization": "Bearer s3cret"},
        timeout=60,
    )
    assert reply.status_code == 200, reply.text
    assert [s["value"] for s in reply.json()["scores"]] == expected == [1.0, 0.0, 0.0]


def test_a_replica_with_a_scoring_process(url):
    """``--ray --score-processes 1``: the replica scores in its own child process."""
    threads = httpx.post(f"{url}/score", json={"samples": SAMPLES}, timeout=60, headers=TOKEN)
    assert httpx.get(f"{url}/processes/health", timeout=30).json()["score_processes"] == 1
    assert httpx.get(f"{url}/health", timeout=30).json()["score_processes"] == 0
    reply = httpx.post(f"{url}/processes/score", json={"samples": SAMPLES}, timeout=60)
    assert reply.status_code == 200, reply.text
    assert reply.content == threads.content
    bad = httpx.post(f"{url}/processes/score", json={"samples": [{"prompt": 1}]}, timeout=60)
    assert bad.status_code == 422 and "completion" in bad.text


def test_token_and_bad_input_hold_on_ray(url):
    assert httpx.get(f"{url}/health", timeout=30).status_code == 200
    assert httpx.post(f"{url}/score", json={"samples": SAMPLES}, timeout=30).status_code == 401
    bad = httpx.post(
        f"{url}/score",
        content=b"{not json",
        headers={"Authorization": "Bearer s3cret", "Content-Type": "application/json"},
        timeout=30,
    )
    assert bad.status_code == 400


def test_openrlhf_route_on_ray(url):
    body = {
        "query": ["Q: 2+2? A: <think>x</think><answer>4</answer>"],
        "prompts": ["Q: 2+2? A: "],
        "labels": ["4"],
    }
    reply = httpx.post(
        f"{url}/get_reward", json=body, headers={"Authorization": "Bearer s3cret"}, timeout=60
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["rewards"] == [1.0]


def test_cli_refuses_http_processes_with_ray():
    from typer.testing import CliRunner

    from rewardsmith.cli.app import app

    result = CliRunner().invoke(app, ["serve", "--ray", "--http-processes", "2"])
    assert result.exit_code == 2
    assert "--replicas" in result.output
