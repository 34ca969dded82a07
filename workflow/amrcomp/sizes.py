"""File sizes raw and compressed (zip deflate), as the paper measured pruned models."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path


def file_sizes(path: str | Path) -> dict[str, int]:
    """Raw bytes and bytes after zip deflate at level 9; pruning zeros only show in the latter."""
    data = Path(path).read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(Path(path).name, data)
    return {"size_bytes": len(data), "size_zip_bytes": len(buffer.getvalue())}
