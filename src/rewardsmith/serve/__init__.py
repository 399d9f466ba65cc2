"""The reward server (``rewardsmith serve``): FastAPI over ``load_spec`` and ``score``.

Needs the ``[serve]`` extra; importing this package without it raises
``MissingExtraError`` with the pip line to run.
"""

from rewardsmith.errors import MissingExtraError

try:
    import fastapi  # noqa: F401
    import prometheus_client  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as _exc:  # pragma: no cover - depends on the environment
    raise MissingExtraError(_exc.name or "fastapi", "serve") from None

from rewardsmith.serve.app import create_app

__all__ = ["create_app"]
