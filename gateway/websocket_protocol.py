"""uvicorn's WebSocket protocol, with a refused handshake counted as a finished one.

uvicorn 0.54's default protocol (``websockets_sansio_impl``) sends a handshake refusal given
as an HTTP response (``websocket.http.response.*``, which ``tryon.live`` uses to send
problem+json) but leaves its ``handshake_complete`` flag unset, so every refusal was also
logged at ERROR as "ASGI callable returned without completing handshake." (59 in one run).
The refusal is answered and logged by the app (``live.refused``, at INFO, with its reason);
this subclass only records that the handshake did end. ``tryon serve`` passes it as ``ws=``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

if TYPE_CHECKING:
    from uvicorn._types import ASGISendEvent


class WebSocketProtocol(WebSocketsSansIOProtocol):
    async def send(self, message: ASGISendEvent) -> None:
        await super().send(message)
        if message["type"] == "websocket.http.response.body" and not message.get(
            "more_body", False
        ):
            self.handshake_complete = True  # refused with a complete HTTP response
