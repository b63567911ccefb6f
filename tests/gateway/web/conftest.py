from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.api.deps import get_settings

SDK_VERSION = "1.2.3"


def write_sdk_build(sdk_dir: Path, marker: str = "one") -> None:
    """A built SDK folder as sdk_js/scripts/build.mjs leaves it (small stand-in bundles)."""
    (sdk_dir / "dist").mkdir(parents=True, exist_ok=True)
    (sdk_dir / "package.json").write_text(json.dumps({"version": SDK_VERSION}))
    body = f"/*! tryon {marker} */(()=>{{window.TryOn={{version:'{SDK_VERSION}'}}}})();" * 40
    (sdk_dir / "dist" / "tryon.js").write_text(body)
    (sdk_dir / "dist" / "tryon.mjs").write_text("export default {};")
    (sdk_dir / "dist" / "tryon.d.ts").write_text("export {};")


@pytest.fixture
def sdk_dir(tmp_path: Path) -> Path:
    path = tmp_path / "sdk_js"
    write_sdk_build(path)
    return path


@pytest.fixture
def web_client(client: TestClient, sdk_dir: Path) -> Iterator[TestClient]:
    """The gateway client, serving the SDK build from ``sdk_dir``."""
    settings = client.app.state.settings.model_copy(update={"sdk_dir": sdk_dir})  # type: ignore[attr-defined]
    client.app.dependency_overrides[get_settings] = lambda: settings  # type: ignore[attr-defined]
    yield client
    client.app.dependency_overrides.clear()  # type: ignore[attr-defined]


@pytest.fixture
def seeded(web_client: TestClient) -> Callable[..., object]:
    """Seed the demo store in the client's database and data dir."""
    from gateway.db.session import session_scope
    from gateway.web.demo.seed import seed

    def run(origins: list[str] | None = None) -> object:
        settings = web_client.app.state.settings  # type: ignore[attr-defined]
        with session_scope(web_client.app.state.engine) as session:  # type: ignore[attr-defined]
            return seed(
                session=session,
                data_dir=settings.data_dir,
                public_url="http://testserver",
                origins=origins or ["http://testserver"],
            )

    return run
