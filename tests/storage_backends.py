"""The two stores a ReturnDesk keeps attachments in: its folder, and an S3 bucket served by
moto's real S3 HTTP endpoint on loopback (``ThreadedMotoServer``)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask
from moto.server import ThreadedMotoServer

from harness import free_port
from services import stores

# moto accepts any credentials; boto3 only needs some to sign with.
S3_SETTINGS = {
    "AWS_ACCESS_KEY_ID": "returndesk-test",
    "AWS_SECRET_ACCESS_KEY": "returndesk-test-secret",
    "AWS_REGION": "eu-west-1",
}


@contextmanager
def s3_endpoint() -> Iterator[str]:
    """An S3 endpoint on loopback for the block, with the settings boto3 reads set."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    settings = S3_SETTINGS | {"AWS_ENDPOINT_URL": endpoint}
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield endpoint
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def new_bucket(endpoint: str) -> str:
    """A fresh bucket at ``endpoint``; its name."""
    bucket = f"returndesk-{secrets.token_hex(6)}"
    stores.s3_client(endpoint).create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": S3_SETTINGS["AWS_REGION"]}
    )
    return bucket


def use_store(app: Flask, url: str) -> stores.Store:
    """Point the app at the store ``url`` (empty: its folder); the store it now uses."""
    app.config["STORAGE_URL"] = url
    app.extensions.pop("store", None)
    return stores.current()


def object_keys(endpoint: str, bucket: str) -> list[str]:
    listed = stores.s3_client(endpoint).list_objects_v2(Bucket=bucket)
    return [item["Key"] for item in listed.get("Contents", [])]


@dataclass
class Backend:
    """A store under test: ``folder`` or ``s3``."""

    kind: str
    store: stores.Store

    def stored(self) -> set[str]:
        """The keys the store holds now."""
        if isinstance(self.store, stores.FolderStore):
            folder = self.store.folder
            return {path.name for path in folder.iterdir()} if folder.exists() else set()
        assert isinstance(self.store, stores.S3Store)
        listed = self.store.client.list_objects_v2(
            Bucket=self.store.bucket, Prefix=self.store.prefix
        )
        return {item["Key"].removeprefix(self.store.prefix) for item in listed.get("Contents", [])}


def down_store(app, kind: str, monkeypatch, tmp_path) -> None:
    """Point the app at a store that cannot take files: nothing listens at the S3 endpoint,
    or the folder cannot be made (a file is in its way)."""
    if kind == "s3":
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
        use_store(app, "s3://returndesk-down/attachments")
    else:
        (tmp_path / "in-the-way").write_text("a file, not a folder")
        use_store(app, (tmp_path / "in-the-way" / "storage").as_uri())
