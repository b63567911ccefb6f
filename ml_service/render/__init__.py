"""Try-on rendering: eyewear, hats, earrings, necklaces and tops on photos and video.

Public API (kept stable; see docs/render.md):

- :func:`render` ``(image_bgr, analysis, asset, options) -> RenderResult``
- :class:`ProductRenderer` (one asset, many photos or frames)
- :class:`VideoRenderer` (per connection: track + render [+ JPEG]) and :func:`render_video`
- :class:`RenderOptions`, :class:`RenderResult`

Names are imported lazily so that ``ml_service.render.errors`` can be used by the asset
package without importing the renderers (which import the assets).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ml_service.render.api import ProductRenderer, render
    from ml_service.render.options import RenderOptions, RenderResult
    from ml_service.render.video import VideoRenderer, render_video

_WHERE = {
    "ProductRenderer": "ml_service.render.api",
    "render": "ml_service.render.api",
    "RenderOptions": "ml_service.render.options",
    "RenderResult": "ml_service.render.options",
    "VideoRenderer": "ml_service.render.video",
    "render_video": "ml_service.render.video",
}

__all__ = [
    "ProductRenderer",
    "RenderOptions",
    "RenderResult",
    "VideoRenderer",
    "render",
    "render_video",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(name)
