"""Reading tables through fsspec: formats decided by content, fingerprints of the bytes."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import fsspec
import pandas as pd
import pytest

from refit_trainer.data_io import read_table, write_table
from refit_trainer.errors import BadDataError, UsageError

FRAME = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", None]})


@pytest.mark.parametrize("name", ["t.csv", "t.csv.gz", "t.parquet", "t-no-extension"])
def test_round_trip_and_fingerprint(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name == "t-no-extension":  # gzip CSV under a key without an extension
        path.write_bytes(gzip.compress(FRAME.to_csv(index=False).encode()))
    else:
        write_table(FRAME, str(path))
    table = read_table(f"file://{path}")
    assert table.frame["a"].tolist() == [1, 2, 3]
    assert table.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert table.rows == 3


def test_other_fsspec_filesystems() -> None:
    with fsspec.open("memory://bucket/data.csv", "wb") as handle:
        handle.write(FRAME.to_csv(index=False).encode())
    assert read_table("memory://bucket/data.csv").rows == 3


def test_gzip_output_is_reproducible(tmp_path: Path) -> None:
    write_table(FRAME, str(tmp_path / "1.csv.gz"))
    write_table(FRAME, str(tmp_path / "2.csv.gz"))
    assert (tmp_path / "1.csv.gz").read_bytes() == (tmp_path / "2.csv.gz").read_bytes()


def test_corrupt_inputs_are_bad_data(tmp_path: Path) -> None:
    (tmp_path / "bad.gz").write_bytes(b"\x1f\x8bnot really gzip")
    with pytest.raises(BadDataError, match="not a valid gzip"):
        read_table(str(tmp_path / "bad.gz"))
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 truncated")
    with pytest.raises(BadDataError, match="parquet"):
        read_table(str(tmp_path / "bad.parquet"))


def test_unknown_protocol_is_a_configuration_error() -> None:
    with pytest.raises(UsageError):
        read_table("nosuchfs://x/y.csv")
