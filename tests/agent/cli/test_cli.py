"""The `supercoder` command: output contracts (stdout results, stderr notices) and error exits."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fakes.repos import TOY

from agent import cli

SCRIPT = Path(sys.executable).parent / "supercoder"

ISSUE = "Saving a record to disk storage fails"
UNIT_FIELDS = {"path", "name", "start_line", "end_line", "score"}


@pytest.fixture
def repo(toy_repo) -> Path:
    return toy_repo


@pytest.fixture
def env(clean_env, tmp_path):
    """A hermetic environment: cache under tmp_path, no embedder, no model, no key."""
    clean_env.setenv("SUPERCODER_INDEX__CACHE_DIR", str(tmp_path / "cache"))
    clean_env.setenv("SUPERCODER_EMBEDDINGS__PROVIDER", "none")
    clean_env.setenv("COLUMNS", "160")
    return clean_env


def run(capsys, *args: str) -> tuple[int, str, str]:
    """agent.cli.main in-process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exc:
        cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    code = exc.value.code
    return (0 if code is None else code), out, err


def run_script(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """The installed console script in a subprocess, with the (already cleaned) environment."""
    return subprocess.run([str(SCRIPT), *map(str, args)], input=stdin, capture_output=True, text=True,
                          env=dict(os.environ), timeout=60)


def assert_error(code: int, out: str, err: str, *fragments: str, only_line: bool = True) -> None:
    """Exit 2, nothing on stdout, one `error:` line (the last, and with `only_line` the only one), no traceback."""
    assert code == 2, (code, out, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert lines and lines[-1].startswith("error:"), err
    assert sum(line.startswith("error:") for line in lines) == 1, err
    if only_line:
        assert len(lines) == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[-1], (fragment, err)


# --- end to end, through the console script -------------------------------------------------------


def test_script_localize_json_prints_one_object(env, repo):
    assert SCRIPT.exists()
    proc = run_script("localize", "--repo", repo, "--issue", ISSUE, "--no-llm", "--json")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert set(data) == {"files", "units", "notes"}
    assert data["files"] and data["units"]
    assert all(set(f) == {"path", "score"} for f in data["files"])
    assert all(set(u) == UNIT_FIELDS for u in data["units"])
    assert data["files"][0]["path"] == "pkg/storage.py"
    assert data["units"][0]["path"] == "pkg/storage.py" and data["units"][0]["name"] == "RecordStore.save_record"
    assert "retrieval only" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_script_issue_from_stdin(env, repo):
    proc = run_script("localize", "--repo", repo, "--issue-file", "-", "--json", stdin="getHTTPResponse returns None\n")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["units"][0]["name"] == "getHTTPResponse"
    assert "no model configured" in proc.stderr and "retrieval only" in proc.stderr


def test_script_error_exit(env, tmp_path):
    proc = run_script("localize", "--repo", tmp_path / "missing", "--issue", "x")
    assert_error(proc.returncode, proc.stdout, proc.stderr, "repository not found", only_line=False)


# --- localize, in-process -----------------------------------------------------------------------


def test_localize_json_in_process(env, repo, capsys):
    code, out, err = run(capsys, "localize", "--repo", repo, "--issue", ISSUE, "--no-llm", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert out.count("\n") == 1
    assert [u["name"] for u in data["units"]][:1] == ["RecordStore.save_record"]
    assert "retrieval only (--no-llm)" in err


def test_localize_json_carries_the_notes_that_explain_the_order(env, repo, capsys):
    code, out, err = run(capsys, "localize", "--repo", repo, "--issue", "RecordStore.save_record fails", "--no-llm", "--json")
    assert code == 0, err
    notes = json.loads(out)["notes"]
    assert "issue mentions name RecordStore.save_record" in notes
    assert all(f"note: {n}" in err for n in notes)  # the same notes, as stderr shows them


def test_localize_table(env, repo, capsys):
    code, out, err = run(capsys, "localize", "--repo", repo, "--issue", ISSUE)
    assert code == 0, err
    assert "Files" in out and "Units" in out
    assert "pkg/storage.py" in out and "RecordStore.save_record" in out
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)
    assert "no model configured (llm.model): retrieval only" in err
    assert "indexing" not in out  # progress goes to stderr


def test_top_counts(env, repo, capsys):
    code, out, err = run(capsys, "localize", "--repo", repo, "--issue", ISSUE, "--json", "--top-files", "1", "--top-units", "2")
    assert code == 0, err
    data = json.loads(out)
    assert len(data["files"]) == 1 and len(data["units"]) == 2


def test_issue_file(env, repo, tmp_path, capsys):
    issue = tmp_path / "issue.md"
    issue.write_text("getHTTPResponse returns None\n", encoding="utf-8")
    code, out, err = run(capsys, "localize", "--repo", repo, "--issue-file", issue, "--json")
    assert code == 0, err
    assert json.loads(out)["units"][0]["name"] == "getHTTPResponse"


def test_issue_file_dash_reads_stdin(env, repo, capsys, monkeypatch):
    # Bytes, as a terminal or pipe gives them; one byte is not UTF-8 and must not stop the run.
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"Calling func gives the wrong ratio \xe9")))
    code, out, err = run(capsys, "localize", "--repo", repo, "--issue-file", "-", "--json")
    assert code == 0, err
    assert json.loads(out)["units"][0]["name"] == "func"


def test_config_file_is_applied(env, repo, tmp_path, capsys):
    config = tmp_path / "sc.yaml"
    config.write_text("localization:\n  top_units: 1\n", encoding="utf-8")
    code, out, err = run(capsys, "localize", "--repo", repo, "--issue", ISSUE, "--json", "--config", config)
    assert code == 0, err
    assert len(json.loads(out)["units"]) == 1


def test_localize_with_model_through_fake_server(env, repo, capsys, fake_openai):
    env.setenv("OPENAI_API_KEY", "sk-test")
    fake_openai.script_chat([
        '```json\n{"files": ["pkg/mod.py"]}\n```',
        '```json\n{"files": ["pkg/mod.py"]}\n```',
        '```json\n{"units": ["pkg/mod.py::Klass.other"]}\n```',
    ])
    code, out, err = run(capsys, "localize", "--repo", repo, "--issue", ISSUE, "--json",
                         "--set", "llm.model=fake", "--set", f"llm.base_url={fake_openai.base_url}",
                         "--set", "llm.max_retries=0")
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {"files", "units", "notes"}
    assert data["units"][0] == {"path": "pkg/mod.py", "name": "Klass.other", "start_line": 10, "end_line": 11,
                                "score": data["units"][0]["score"]}
    assert "retrieval only" not in err
    assert len(fake_openai.chat_requests()) == 3


def test_no_llm_wins_over_a_configured_model(env, repo, capsys, fake_openai):
    code, out, err = run(capsys, "localize", "--repo", repo, "--issue", ISSUE, "--json", "--no-llm",
                         "--set", "llm.model=fake", "--set", f"llm.base_url={fake_openai.base_url}")
    assert code == 0, err
    assert fake_openai.requests == []
    assert "retrieval only (--no-llm)" in err


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["--issue", ""], ["issue text is empty"]),
        (["--issue", "  \n "], ["issue text is empty"]),
        ([], ["exactly one of --issue"]),
        (["--issue", "x", "--issue-file", "{tmp}/issue.md"], ["exactly one of --issue"]),
        (["--issue-file", "{tmp}/nope.md"], ["issue file not found"]),
        (["--issue", "x", "--set", "nosuch.key=1"], ["nosuch", "unknown setting"]),
        (["--issue", "x", "--set", "retrieval.nosuch=1"], ["retrieval.nosuch", "unknown setting"]),
        (["--issue", "x", "--set", "localization.top_files=many"], ["localization.top_files"]),
        (["--issue", "x", "--set", "noequals"], ["expected section.field=value"]),
        (["--issue", "x", "--set", "llm.api_key=sk-leak-123"], ["llm.api_key", "secret"]),
        (["--issue", "x", "--config", "{tmp}/bad.yaml"], ["not valid YAML"]),
        (["--issue", "x", "--config", "{tmp}/secret.yaml"], ["secret"]),
        (["--issue", "x", "--config", "{tmp}/missing.yaml"], ["config file not found"]),
        (["--issue", "x", "--top-files", "0"], ["--top-files"]),
        (["--issue", "x", "--top-units", "0"], ["--top-units"]),
        (["--issue", "x", "--bogus"], ["--bogus"]),
        (["--issue", "x", "--top-files", "lots"], ["--top-files"]),
    ],
    ids=["empty-issue", "blank-issue", "no-issue", "both-issue-options", "missing-issue-file", "unknown-section",
         "unknown-field", "bad-value", "malformed-set", "secret-set", "bad-yaml", "secret-in-config",
         "missing-config", "top-files-0", "top-units-0", "unknown-option", "non-integer"],
)
def test_localize_errors_exit_2_with_one_line(env, repo, tmp_path, capsys, args, fragments):
    (tmp_path / "issue.md").write_text("an issue", encoding="utf-8")
    (tmp_path / "bad.yaml").write_text("localization: [top_files: 3\n  - oops: {\n", encoding="utf-8")
    (tmp_path / "secret.yaml").write_text("llm:\n  api_key: sk-leak-123\n", encoding="utf-8")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    code, out, err = run(capsys, "localize", "--repo", repo, *args)
    assert_error(code, out, err, *fragments)
    assert "sk-leak-123" not in err


def test_nonexistent_repo(env, tmp_path, capsys):
    code, out, err = run(capsys, "localize", "--repo", tmp_path / "missing", "--issue", "x")
    assert_error(code, out, err, "repository not found", only_line=False)


def test_repo_without_source_files(env, tmp_path, capsys):
    repo = tmp_path / "docs-only"
    repo.mkdir()
    (repo / "README.md").write_text("# hi\n")
    code, out, err = run(capsys, "localize", "--repo", repo, "--issue", "x")
    assert_error(code, out, err, "no source files to index", only_line=False)


@pytest.mark.parametrize("no_llm", [[], ["--no-llm"]], ids=["no-model", "no-llm"])
def test_repo_error_is_the_only_stderr_line(env, tmp_path, capsys, no_llm):
    code, out, err = run(capsys, "localize", "--repo", tmp_path / "missing", "--issue", "x", *no_llm)
    assert_error(code, out, err, "repository not found", only_line=True)


def test_missing_repo_option(env, capsys):
    code, out, err = run(capsys, "localize", "--issue", "x")
    assert_error(code, out, err, "--repo")


def test_unknown_command(env, capsys):
    code, out, err = run(capsys, "frobnicate")
    assert_error(code, out, err, "frobnicate")


def test_model_without_key_or_endpoint_is_a_config_error(env, repo, capsys):
    code, out, err = run(capsys, "localize", "--repo", repo, "--issue", ISSUE, "--set", "llm.model=fake")
    assert_error(code, out, err, "no API key")


# --- index --------------------------------------------------------------------------------------


def test_index_prints_stats_and_reuses_the_cache(env, repo, capsys):
    code, out, err = run(capsys, "index", "--repo", repo)
    assert code == 0, err
    first = json.loads(out)
    files = len(TOY)
    assert first["files"] == files and first["parsed"] == files and first["from_cache"] == 0
    assert first["units"] > 0 and first["repo"] == str(repo.resolve())
    code, out, err = run(capsys, "index", "--repo", repo)
    assert code == 0, err
    second = json.loads(out)
    assert second["from_cache"] == second["files"] == files
    assert second["parsed"] == 0
    assert second["units"] == first["units"]


def test_index_warns_about_syntax_errors_and_skipped_files(env, repo, capsys):
    (repo / "pkg" / "broken.py").write_text("def ok():\n    return 1\n\ndef bad(:\n")
    (repo / "pkg" / "blob.py").write_bytes(b"\x00\x01binary")
    code, out, err = run(capsys, "index", "--repo", repo)
    assert code == 0, err
    stats = json.loads(out)
    assert stats["syntax_errors"] == 1 and stats["skipped"] == 1
    assert "syntax errors" in err and "binary" in err


def test_index_nonexistent_repo(env, tmp_path, capsys):
    code, out, err = run(capsys, "index", "--repo", tmp_path / "nope")
    assert_error(code, out, err, "repository not found")


def test_index_uses_the_cache_dir_from_the_environment(env, repo, tmp_path, capsys):
    run(capsys, "index", "--repo", repo)
    assert list((tmp_path / "cache").rglob("*.json"))


# --- config show --------------------------------------------------------------------------------


def test_config_show_masks_the_api_key(env, capsys):
    env.setenv("SUPERCODER_LLM__API_KEY", "sk-very-secret-value")
    code, out, err = run(capsys, "config", "show")
    assert code == 0, err
    assert "sk-very-secret-value" not in out and "sk-very-secret-value" not in err
    data = json.loads(out)
    assert data["llm"]["api_key"] not in (None, "")
    assert set(data["llm"]["api_key"]) == {"*"}


def test_config_show_without_key(env, capsys):
    code, out, err = run(capsys, "config", "show")
    assert code == 0, err
    data = json.loads(out)
    assert data["llm"]["api_key"] is None
    assert data["embeddings"]["provider"] == "none"
    assert set(data) == {"llm", "index", "embeddings", "retrieval", "localization", "editing", "sandbox", "repair", "batch", "bot"}


def test_config_show_applies_set_and_config(env, tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("localization:\n  top_files: 7\nretrieval:\n  dense_weight: 0.25\n")
    code, out, err = run(capsys, "config", "show", "--config", config, "--set", "localization.top_files=9")
    assert code == 0, err
    data = json.loads(out)
    assert data["localization"]["top_files"] == 9  # --set over the file
    assert data["retrieval"]["dense_weight"] == 0.25
    assert data["index"]["cache_dir"] == str(tmp_path / "cache")  # environment over the defaults


def test_script_config_show_masks_the_api_key(env):
    env.setenv("SUPERCODER_LLM__API_KEY", "sk-script-secret")
    proc = run_script("config", "show")
    assert proc.returncode == 0, proc.stderr
    assert "sk-script-secret" not in proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["llm"]["api_key"].startswith("*")


def test_version(env, capsys):
    code, out, err = run(capsys, "--version")
    assert code == 0
    assert out.startswith("supercoder ")
