"""Agreement documents, stored once per content (sha256) under a configurable directory."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


class DocumentStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, content: bytes) -> tuple[str, int]:
        digest = hashlib.sha256(content).hexdigest()
        path = self.path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
            with os.fdopen(fd, "wb") as file:
                file.write(content)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        return digest, len(content)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256
