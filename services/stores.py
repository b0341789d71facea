"""Where the bytes of attachments live: a folder (the default) or an S3-compatible object store.

``STORAGE_URL`` chooses: empty (the folder ``STORAGE_DIR``), ``file:///a/folder``, or
``s3://bucket/prefix``. For S3 the endpoint, region and credentials come from the usual
settings (``AWS_ENDPOINT_URL``, ``AWS_REGION``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``
or an instance role), read by boto3 itself. The store is operator configuration, not a URL a
shop typed, so it is not subject to ``services.outbound``'s private-address rule (a MinIO on
the private network is a normal setup).

A store writes a key whole or not at all: the folder writes to a temporary name and renames
it, and S3 only shows an object once its upload completed. A store that cannot be reached
raises ``StoreUnavailable``, and nothing was written.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from flask import current_app

CHUNK = 64 * 1024


class StoreUnavailable(Exception):
    """The store could not be reached or refused the operation; nothing was written."""


class MissingFile(Exception):
    """The store has no file under this key."""


class Store(Protocol):
    url: str

    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes: ...

    def stream(self, key: str) -> Iterator[bytes]: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def keys_older_than(self, prefix: str, cutoff: datetime) -> list[str]: ...


class FolderStore:
    """Files in one folder outside the static tree, named by their key."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.url = folder.as_uri()

    def path(self, key: str) -> Path:
        return self.folder / key

    def put(self, key: str, data: bytes, content_type: str) -> None:
        partial = self.folder / f".partial-{key}-{secrets.token_hex(4)}"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(data)
            os.replace(partial, self.path(key))
        except OSError as error:
            with suppress(OSError):
                partial.unlink(missing_ok=True)
            raise StoreUnavailable(str(error)) from error

    def get(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError as missing:
            raise MissingFile(key) from missing

    def stream(self, key: str) -> Iterator[bytes]:
        try:
            file = self.path(key).open("rb")
        except FileNotFoundError as missing:
            raise MissingFile(key) from missing
        with file:
            while chunk := file.read(CHUNK):
                yield chunk

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def keys_older_than(self, prefix: str, cutoff: datetime) -> list[str]:
        """The keys starting with ``prefix`` of files last written before ``cutoff``."""
        if not self.folder.is_dir():
            return []
        return sorted(
            path.name
            for path in self.folder.glob(f"{prefix}*")
            if path.is_file() and datetime.fromtimestamp(path.stat().st_mtime, UTC) < cutoff
        )


class S3Store:
    """Objects in an S3-compatible bucket, under ``prefix`` + key."""

    def __init__(self, bucket: str, prefix: str, client) -> None:
        self.bucket, self.prefix, self.client = bucket, prefix, client
        self.url = f"s3://{bucket}/{prefix}"

    def _object(self, key: str) -> dict:
        return {"Bucket": self.bucket, "Key": self.prefix + key}

    def put(self, key: str, data: bytes, content_type: str) -> None:
        try:
            self.client.put_object(**self._object(key), Body=data, ContentType=content_type)
        except (BotoCoreError, ClientError) as error:
            raise StoreUnavailable(str(error)) from error

    def _body(self, key: str):
        try:
            return self.client.get_object(**self._object(key))["Body"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise MissingFile(key) from error
            raise StoreUnavailable(str(error)) from error
        except BotoCoreError as error:
            raise StoreUnavailable(str(error)) from error

    def get(self, key: str) -> bytes:
        return self._body(key).read()

    def stream(self, key: str) -> Iterator[bytes]:
        body = self._body(key)
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(**self._object(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return False
            raise StoreUnavailable(str(error)) from error
        except BotoCoreError as error:
            raise StoreUnavailable(str(error)) from error
        return True

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(**self._object(key))
        except (BotoCoreError, ClientError) as error:
            raise StoreUnavailable(str(error)) from error

    def keys_older_than(self, prefix: str, cutoff: datetime) -> list[str]:
        """The keys starting with ``prefix`` of objects last written before ``cutoff``."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix
        )
        try:
            return sorted(
                item["Key"][len(self.prefix) :]
                for page in pages
                for item in page.get("Contents", [])
                if item["LastModified"] < cutoff
            )
        except (BotoCoreError, ClientError) as error:
            raise StoreUnavailable(str(error)) from error


def s3_client(endpoint_url: str | None = None):
    """A boto3 S3 client with short timeouts; path-style addressing for a custom endpoint
    (MinIO, Ceph, a test server), where bucket subdomains rarely resolve."""
    endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
    config = Config(
        connect_timeout=5,
        read_timeout=30,
        retries={"max_attempts": 2, "mode": "standard"},
        s3={"addressing_style": "path"} if endpoint_url else {},
    )
    return boto3.client("s3", endpoint_url=endpoint_url, config=config)


def store_at(url: str) -> Store:
    """The store a URL names: ``file:///folder`` or ``s3://bucket/prefix``."""
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ValueError(f"{url}: an S3 storage URL names its bucket: s3://bucket/prefix")
        prefix = parsed.path.lstrip("/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return S3Store(parsed.netloc, prefix, s3_client())
    if parsed.scheme == "file":
        return FolderStore(Path(parsed.path))
    raise ValueError(f"{url}: STORAGE_URL is file:///a/folder or s3://bucket/prefix")


def current() -> Store:
    """This app's store, from ``STORAGE_URL`` (else the folder ``STORAGE_DIR``); one per app."""
    if "store" not in current_app.extensions:
        url = current_app.config.get("STORAGE_URL") or ""
        folder = Path(current_app.config["STORAGE_DIR"])
        current_app.extensions["store"] = store_at(url) if url else FolderStore(folder)
    return current_app.extensions["store"]
