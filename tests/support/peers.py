"""Run the platforms' own libraries as test peers (``tests/peers/``, installed by ``make peers``).

``shopify_node("webhook-validate", {...})`` runs ``tests/peers/shopify/webhook-validate.mjs``
with the payload as JSON on stdin and returns the JSON it prints. The scripts:

- ``webhook-validate``: ``shopify.webhooks.validate`` on ``{headers, body}``
- ``validate-hmac``: ``shopify.utils.validateHmac`` on ``{query}`` (also checks the timestamp)
- ``decode-session-token``: ``shopify.session.decodeSessionToken`` on ``{token}``
- ``token-exchange``: ``shopify.auth.tokenExchange`` for ``{shop, session_token}`` with its
  fetch redirected to ``{base_url}/HOST/PATH``; returns the requests it made and the session

Every payload also carries ``api_key`` and ``api_secret``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

SHOPIFY_DIR = Path(__file__).resolve().parents[1] / "peers" / "shopify"
TIMEOUT_S = 60


def shopify_node(command: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Run one Shopify peer script; its JSON answer (``{"error": ...}`` raises)."""
    script = SHOPIFY_DIR / f"{command}.mjs"
    if not script.is_file():
        raise ValueError(f"no peer script {script.name}")
    node = shutil.which("node")
    if node is None or not (SHOPIFY_DIR / "node_modules" / "@shopify" / "shopify-api").is_dir():
        pytest.fail("the Shopify Node peer is not installed: run `make peers`")
    done = subprocess.run(
        [node, str(script)],
        input=json.dumps(payload).encode(),
        capture_output=True,
        cwd=SHOPIFY_DIR,
        timeout=TIMEOUT_S,
        check=False,
    )
    try:
        answer = json.loads(done.stdout.decode().strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise AssertionError(
            f"peer {command} printed no JSON (exit {done.returncode}): "
            f"{done.stdout.decode()[-500:]} {done.stderr.decode()[-2000:]}"
        ) from None
    if done.returncode != 0 or not isinstance(answer, dict):
        raise AssertionError(f"peer {command} failed: {answer} {done.stderr.decode()[-2000:]}")
    return answer
