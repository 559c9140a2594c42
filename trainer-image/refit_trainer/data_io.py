"""Reading tables through fsspec (local paths, file://, s3://, gs://, http(s)://, ...).

Every read also fingerprints the exact bytes it parsed (sha256), so a run records which
data it was trained or evaluated on. The format is decided from the bytes (gzip and
parquet magic numbers), not only from the file name, because object-store keys often
have no extension.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import zlib

import pandas as pd

from refit_trainer.errors import BadDataError, UsageError

_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"


@dataclasses.dataclass(frozen=True)
class Table:
    uri: str
    frame: pd.DataFrame
    sha256: str
    n_bytes: int

    @property
    def rows(self) -> int:
        return len(self.frame)

    def lineage(self, prefix: str) -> dict[str, str]:
        """Tags that identify the data a run used (prefix e.g. `refit.data.train`)."""
        return {
            f"{prefix}.uri": self.uri,
            f"{prefix}.sha256": self.sha256,
            f"{prefix}.bytes": str(self.n_bytes),
            f"{prefix}.rows": str(self.rows),
        }


def read_bytes(uri: str) -> bytes:
    import fsspec  # imported here: fsspec pulls in its registry only when data is read

    try:
        with fsspec.open(uri, "rb") as handle:
            buffer = bytearray()
            while chunk := handle.read(_CHUNK):
                buffer.extend(chunk)
            return bytes(buffer)
    except FileNotFoundError as exc:
        raise BadDataError(f"data not found: {uri}") from exc
    except (ImportError, ValueError) as exc:
        # fsspec raises these for unknown protocols or a missing filesystem package (s3fs...).
        raise UsageError(f"cannot open {uri}: {exc}") from exc
    except OSError as exc:
        raise BadDataError(f"cannot read {uri}: {exc}") from exc


def parse_table(uri: str, raw: bytes) -> pd.DataFrame:
    """Parse CSV (optionally gzip-compressed) or parquet bytes into a DataFrame."""
    if not raw:
        raise BadDataError(f"{uri} is empty (0 bytes)")
    payload = raw
    if raw[:2] == _GZIP_MAGIC:
        try:
            payload = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise BadDataError(f"{uri} is not a valid gzip file: {exc}") from exc
        if not payload:
            raise BadDataError(f"{uri} is empty (0 bytes after gzip)")
    if payload[:4] == _PARQUET_MAGIC:
        try:
            frame = pd.read_parquet(io.BytesIO(payload))
        except Exception as exc:  # pyarrow raises many types for a corrupt file
            raise BadDataError(f"{uri} is not a readable parquet file: {exc}") from exc
    else:
        frame = _parse_csv(uri, payload)
    if frame.shape[1] == 0:
        raise BadDataError(f"{uri} has no columns")
    return frame


def _parse_csv(uri: str, payload: bytes) -> pd.DataFrame:
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadDataError(
            f"{uri} is not UTF-8 text (invalid byte 0x{payload[exc.start]:02x} at offset {exc.start})"
        ) from exc
    if not text.strip():
        raise BadDataError(f"{uri} is empty (no header line)")
    try:
        return pd.read_csv(io.StringIO(text))
    except pd.errors.EmptyDataError as exc:
        raise BadDataError(f"{uri} is empty (no header line)") from exc
    except pd.errors.ParserError as exc:
        raise BadDataError(f"{uri} is not a well-formed CSV: {exc}") from exc


def read_table(uri: str) -> Table:
    raw = read_bytes(uri)
    frame = parse_table(uri, raw)
    return Table(uri=uri, frame=frame, sha256=hashlib.sha256(raw).hexdigest(), n_bytes=len(raw))


def write_table(frame: pd.DataFrame, uri: str) -> None:
    """Write CSV (gzip when the name ends in .gz) or parquet (.parquet/.pq) through fsspec."""
    import fsspec

    lowered = uri.lower()
    with fsspec.open(uri, "wb") as handle:
        if lowered.endswith((".parquet", ".pq")):
            frame.to_parquet(handle, index=False)
        elif lowered.endswith(".gz"):
            # No name, mtime=0: the bytes (and so the fingerprint) depend on the data alone.
            with gzip.GzipFile(filename="", fileobj=handle, mode="wb", mtime=0) as zipped:
                zipped.write(frame.to_csv(index=False).encode("utf-8"))
        else:
            handle.write(frame.to_csv(index=False).encode("utf-8"))


def require_columns(frame: pd.DataFrame, columns: list[str], uri: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise BadDataError(f"{uri} is missing required column(s): {', '.join(missing)}")
    if frame.empty:
        raise BadDataError(f"{uri} has a header but no rows")
    all_missing = [c for c in columns if frame[c].isna().all()]
    if all_missing:
        raise BadDataError(f"{uri}: column(s) with no values at all: {', '.join(all_missing)}")
