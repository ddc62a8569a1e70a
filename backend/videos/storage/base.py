"""The storage interface every backend implements (backend.videos.storage picks one)."""
from collections.abc import Iterator
from typing import BinaryIO, Protocol

READ_BLOCK = 256 * 1024


class Storage(Protocol):
    name: str

    def write_stream(self, key: str, stream: BinaryIO) -> int:
        """Store what `stream.read(n)` gives until it returns b"" as the object `key`; the bytes written."""

    def put_file(self, key: str, path: str, content_type: str) -> None:
        """Store a local file as `key`."""

    def download(self, key: str, destination: BinaryIO) -> None:
        """Append the object's bytes to an open binary file."""

    def size(self, key: str) -> int | None:
        """The object's size in bytes, or None when there is no such object."""

    def read_range(self, key: str, start: int, length: int) -> Iterator[bytes]:
        """`length` bytes from offset `start`, in blocks."""

    def delete(self, key: str) -> None:
        """Remove the object; a missing one is no error."""

    def delete_prefix(self, prefix: str) -> None:
        """Remove every object whose key starts with `prefix` (a folder: ends with "/")."""

    def keys(self, prefix: str) -> list[str]:
        """The keys under `prefix`, sorted."""
