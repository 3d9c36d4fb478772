"""Writes that a reader never sees half done, and JSON that is read or is None."""

from __future__ import annotations

import os

import pytest

from configs.files import read_json, write_atomic


def test_write_atomic_replaces_whole_and_keeps_a_files_mode_when_asked(tmp_path):
    path = tmp_path / "f.py"
    path.write_text("old\n")
    os.chmod(path, 0o755)
    write_atomic(path, "new\n", keep_mode=True)
    assert path.read_text() == "new\n" and path.stat().st_mode & 0o777 == 0o755
    write_atomic(path, b"bytes\n")
    assert path.read_bytes() == b"bytes\n" and path.stat().st_mode & 0o777 == 0o600  # a fresh file is private
    assert [p.name for p in tmp_path.iterdir()] == ["f.py"]


def test_a_failed_write_leaves_the_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "f.json"
    path.write_text("{}")

    def boom(*_):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_atomic(path, "{\"a\": 1}")
    assert path.read_text() == "{}" and [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_read_json_is_none_for_what_cannot_be_read(tmp_path):
    (tmp_path / "ok.json").write_text('{"a": 1}')
    (tmp_path / "bad.json").write_text('{"a": ')
    assert read_json(tmp_path / "ok.json") == {"a": 1}
    assert read_json(tmp_path / "bad.json") is None and read_json(tmp_path / "absent.json") is None
