"""``load_backend``: one name for a model, local or remote, to the backend that runs it.

- ``"hf"``: a local directory or hub id, run here by ``transformers``
  (``models.local.HFBackend``);
- ``"openai"``: an OpenAI-compatible server (vLLM, SGLang, hosted APIs) at a base URL
  (``models.openai.OpenAIBackend``);
- ``"openrlhf"``: an OpenRLHF-style reward server, the URL ending in ``/get_reward``
  (``models.openrlhf.OpenRLHFBackend``);
- ``"auto"``: an ``http://`` or ``https://`` URL is ``openrlhf`` when its path ends in
  ``/get_reward`` and ``openai`` otherwise; anything else is ``hf``.

Each backend module is imported only when asked for, so a missing extra (``torch``,
``httpx``) fails the call that needs it with the ``pip install`` line, and nothing heavy
loads at ``import rewardsmith``.

Example:
    >>> resolve_backend("http://127.0.0.1:8000/v1"), resolve_backend("org/rm-7b")
    ('openai', 'hf')
"""

from __future__ import annotations

import importlib
from typing import Any, Literal, cast
from urllib.parse import urlsplit

from rewardsmith.errors import ConfigError
from rewardsmith.models.base import Backend

__all__ = ["BACKENDS", "BackendName", "load_backend", "local_options", "resolve_backend"]

BackendName = Literal["auto", "hf", "openai", "openrlhf"]
BACKENDS: tuple[str, ...] = ("auto", "hf", "openai", "openrlhf")

# backend -> (module, class, the keyword that takes the model string)
_CLASSES = {
    "hf": ("rewardsmith.models.local", "HFBackend", None),
    "openai": ("rewardsmith.models.openai", "OpenAIBackend", "base_url"),
    "openrlhf": ("rewardsmith.models.openrlhf", "OpenRLHFBackend", "url"),
}


def resolve_backend(model: str, backend: str = "auto") -> str:
    """The backend ``load_backend`` would use: ``hf``, ``openai`` or ``openrlhf``."""
    if backend not in BACKENDS:
        raise ConfigError(f"backend: one of {', '.join(BACKENDS)}, not {backend!r}")
    if backend != "auto":
        return backend
    parts = urlsplit(model)
    if parts.scheme in ("http", "https") and parts.netloc:
        return "openrlhf" if parts.path.rstrip("/").endswith("/get_reward") else "openai"
    return "hf"


def local_options(params: Any) -> dict[str, Any]:
    """``HFBackend``'s options from a reward's parameters (``dtype``, ``device``,
    ``max_length``, ``max_batch_tokens``), the four every local-model reward takes."""
    keys = ("dtype", "device", "max_length", "max_batch_tokens")
    return {k: getattr(params, k) for k in keys}


def load_backend(model: str, backend: str = "auto", /, **options: Any) -> Backend:
    """The backend for ``model``; ``options`` go to its class (``HFBackend``'s ``dtype``,
    ``device``, ``max_length``, ``max_batch_tokens``, ...; the remote classes' own).

    Nothing is loaded or contacted here: a local model loads on its first call.

    Args:
        model: a local directory, a hub id, or a server URL.
        backend: ``auto``, ``hf``, ``openai`` or ``openrlhf``.
        **options: keyword options of the backend class (``OpenAIBackend``'s ``model``
            is the name the server serves).

    Returns:
        An object with the ``models.base.Backend`` methods.

    Raises:
        ConfigError: an unknown backend, an option the class does not take, or a backend
            module that is not available.
    """
    kind = resolve_backend(model, backend)
    module_name, class_name, keyword = _CLASSES[kind]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise  # a dependency of the module: its own message says what to install
        raise ConfigError(f"backend {kind!r}: {module_name} is not available") from None
    cls = getattr(module, class_name)
    try:
        obj = cls(model, **options) if keyword is None else cls(**{keyword: model}, **options)
    except TypeError as exc:
        raise ConfigError(f"backend {kind!r}: {exc}") from None
    return cast(Backend, obj)
