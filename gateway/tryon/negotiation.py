"""What format the caller wants back, from ``Accept`` (pure)."""

from __future__ import annotations

from gateway.errors import NotAcceptable

IMAGE_KINDS = {"image/jpeg": "jpeg", "image/png": "png", "image/webp": "webp"}
JSON = "application/json"
OFFERED = (*IMAGE_KINDS, JSON)


def _parse(accept: str) -> list[tuple[str, float, int]]:
    ranges: list[tuple[str, float, int]] = []
    for index, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        if not media:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges.append((media.lower(), quality, index))
    return ranges


def choose(accept: str | None, *, default: str = "image/jpeg") -> str:
    """The offered media type the ``Accept`` header prefers; ``NotAcceptable`` if none."""
    if not accept or not accept.strip():
        return default
    candidates: list[tuple[float, int, int, str]] = []
    for media, quality, index in _parse(accept):
        if quality <= 0:
            continue
        if media == "*/*":
            candidates.append((quality, 0, -index, default))
        elif media == "image/*":
            candidates.append(
                (quality, 0, -index, default if default in IMAGE_KINDS else "image/jpeg")
            )
        elif media in OFFERED:
            candidates.append((quality, 1, -index, media))
    if not candidates:
        raise NotAcceptable(
            "Ask for image/jpeg, image/png, image/webp or application/json", offered=list(OFFERED)
        )
    return max(candidates)[3]
