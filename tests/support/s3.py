"""A real S3 API on loopback for tests: moto's server in a thread, on a free port.

No network and no AWS account: boto3 talks HTTP to ``127.0.0.1`` with fixed test credentials,
and no shared AWS configuration of the machine is read.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

REGION = "us-east-1"


@contextmanager
def moto_server() -> Iterator[str]:
    """The endpoint URL of a moto S3 server that lives for the block."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def use_test_credentials(monkeypatch: pytest.MonkeyPatch, tmp_dir: str) -> None:
    """Fixed keys in the environment; the developer's ~/.aws and instance metadata unused."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", f"{tmp_dir}/no-aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", f"{tmp_dir}/no-aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def client(endpoint: str) -> S3Client:
    """A plain client on the test server (for setting up and looking behind the adapter)."""
    from gateway.storage import s3_client

    return s3_client(
        endpoint_url=endpoint,
        region=REGION,
        connect_timeout_s=1,
        read_timeout_s=5,
        max_attempts=1,
        max_connections=4,
    )


def new_bucket(s3: S3Client) -> str:
    name = f"tryon-test-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name


def object_keys(s3: S3Client, bucket: str, prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys |= {item["Key"] for item in page.get("Contents", [])}
    return keys
