"""Video storage in a folder of this machine (instance/media/ by default): files 0600 in folders 0700."""
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from backend.private_files import FILE_MODE, private_folder
from backend.videos.storage.base import READ_BLOCK


class LocalStorage:
    name = "local"

    def __init__(self, root: str):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"key outside the media folder: {key!r}")
        return path

    def write_stream(self, key: str, stream: BinaryIO) -> int:
        """Written to a temporary name first, then renamed: a reader never sees half an object."""
        path = self._path(key)
        private_folder(path.parent)
        partial = path.with_name(path.name + ".partial")
        written = 0
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with os.fdopen(descriptor, "wb") as file:
            while block := stream.read(READ_BLOCK):
                file.write(block)
                written += len(block)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, path)
        return written

    def put_file(self, key: str, path: str, content_type: str) -> None:
        with open(path, "rb") as source:
            self.write_stream(key, source)

    def download(self, key: str, destination: BinaryIO) -> None:
        with open(self._path(key), "rb") as source:
            shutil.copyfileobj(source, destination, READ_BLOCK)

    def size(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None

    def read_range(self, key: str, start: int, length: int) -> Iterator[bytes]:
        with open(self._path(key), "rb") as file:
            file.seek(start)
            while length > 0 and (block := file.read(min(READ_BLOCK, length))):
                length -= len(block)
                yield block

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        path = self._path(prefix.rstrip("/"))
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)

    def keys(self, prefix: str) -> list[str]:
        base = self._path(prefix.rstrip("/"))
        if not base.is_dir():
            return []
        return sorted(str(p.relative_to(self.root)) for p in base.rglob("*")
                      if p.is_file() and not p.name.endswith(".partial"))
