"""Files that hold family data or secrets (the SQLite database, emails written to disk, family documents, the
generated key): readable and writable by the service's own user alone, whatever the umask."""
import os
from pathlib import Path

FOLDER_MODE, FILE_MODE = 0o700, 0o600


def private_folder(path: Path) -> Path:
    """The folder, made 0700 when missing (an existing one keeps the mode its operator gave it)."""
    path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    return path


def create_private(path: Path) -> None:
    """An empty 0600 file where none is yet: SQLite then opens it, and gives its -wal and -shm files its mode."""
    private_folder(path.parent)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))


def write_private(path: Path, data: bytes) -> None:
    """Write the file 0600 from its first byte (no window in which it is readable by others)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(descriptor, FILE_MODE)  # a file that was there already
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
