"""The ML service's exception tree; the gateway maps it to problem+json at its edge.

::

    MLError                          base; never raised itself
    ├── InvalidImage                 the input is not a usable image (empty, wrong type, corrupt)
    │   └── ImageTooLarge            more pixels or bytes than the configured cap
    ├── ModelUnavailable             models not built, missing or failing their checksum
    ├── ModelBuildError              `tryon models build` could not finish (step, cause)
    ├── StartupFailed                a server we started never became ready (log file)
    └── BackendError                 an inference call failed (model, backend)
        ├── BackendTimeout           no answer in time (Triton)
        ├── BackendUnavailable       the server cannot be reached or is not ready
        └── ModelMismatch            served model metadata differs from its description

Each instance carries its context as attributes, and ``str(exc)`` is a message a person can
act on. Nothing here carries image data.
"""

from __future__ import annotations

from pathlib import Path


class MLError(Exception):
    """Base of every error the ML service raises on purpose."""


class InvalidImage(MLError):
    """The input cannot be analysed as an image."""


class ImageTooLarge(InvalidImage):
    """The image exceeds the pixel or byte cap."""

    def __init__(self, message: str, *, limit: int, actual: int) -> None:
        super().__init__(message)
        self.limit = limit
        self.actual = actual


class ModelUnavailable(MLError):
    """The converted models are not where the settings say, or are damaged."""

    def __init__(self, message: str, *, models_dir: str | None = None) -> None:
        super().__init__(message)
        self.models_dir = models_dir


class ModelBuildError(MLError):
    """The model build failed at ``step``."""

    def __init__(self, message: str, *, step: str) -> None:
        super().__init__(f"{step}: {message}")
        self.step = step


class StartupFailed(MLError):
    """A server process did not report its port or answer its readiness check in time."""

    def __init__(self, message: str, *, log_path: Path | None = None) -> None:
        super().__init__(message)
        self.log_path = log_path


class BackendError(MLError):
    """An inference backend failed to run ``model``."""

    def __init__(self, message: str, *, model: str, backend: str) -> None:
        super().__init__(f"{backend} {model}: {message}")
        self.model = model
        self.backend = backend


class BackendTimeout(BackendError):
    """The backend did not answer within the configured timeout."""


class BackendUnavailable(BackendError):
    """The backend cannot be reached, or reports the model not ready."""


class ModelMismatch(BackendError):
    """The served model's inputs or outputs differ from the model description."""
