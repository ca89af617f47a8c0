"""giftless for the local LFS server: its configuration, its authenticator, its gunicorn flags."""

from __future__ import annotations

import json
import secrets
from importlib.resources import files
from pathlib import Path

__all__ = ["giftless_config", "supports_no_control_socket"]

_AUTH_PLUGIN = "giftless_auth.py.tmpl"
"""The giftless authenticator mobu's LFS server loads (token on the write port, anonymous reads)."""


def giftless_config(directory: Path, storage: Path, token: str, write_port: int) -> Path:
    """Write giftless's configuration and authenticator into ``directory``; return the config."""
    config = {
        "AUTH_PROVIDERS": [
            {
                "factory": "mobu_giftless_auth:factory",
                "options": {"token": token, "write_port": write_port},
            }
        ],
        "PRE_AUTHORIZED_ACTION_PROVIDER": {
            "factory": "giftless.auth.jwt:factory",
            "options": {"algorithm": "HS256", "private_key": secrets.token_hex(32)},
        },
        "LEGACY_ENDPOINTS": False,
        "TRANSFER_ADAPTERS": {
            "basic": {
                "factory": "giftless.transfer.basic_streaming:factory",
                "options": {
                    "storage_class": "giftless.storage.local_storage:LocalStorage",
                    "storage_options": {"path": str(storage)},
                },
            }
        },
    }
    path = directory / "giftless.yaml"
    path.write_text(json.dumps(config))  # JSON is YAML
    path.chmod(0o600)
    (directory / "mobu_giftless_auth.py").write_text(
        files("mobu.platform").joinpath(_AUTH_PLUGIN).read_text(encoding="utf-8")
    )
    return path


def supports_no_control_socket(venv: Path) -> bool:
    # The flag exists from gunicorn 26 on, which also creates the shared control socket.
    for entry in (venv / "lib").glob("python*/site-packages/gunicorn-*.dist-info"):
        major = entry.name.split("-")[1].split(".")[0]
        return major.isdigit() and int(major) >= 26
    return False
