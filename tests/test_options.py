"""The settings table is the one declaration: config, magic, %search_config, CLI and README agree."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from jupyter_codesearch import ConfigError, SearchConfig, resolve_config
from jupyter_codesearch import cli as cli_module
from jupyter_codesearch._model import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S
from jupyter_codesearch._options import SETTINGS, Setting, Surface, lookup, offered
from jupyter_codesearch.ui import _magic

REPO = Path(__file__).resolve().parents[1]

_KIND_TYPES: dict[str, object] = {"str": str, "int": int, "float": float, "bool": bool, "floats": tuple[float, ...]}


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    return {flag for action in parser._actions for flag in action.option_strings}


def _subparser(name: str) -> argparse.ArgumentParser:
    parser = cli_module._parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub: argparse.ArgumentParser = commands.choices[name]
    return sub


def test_search_config_has_exactly_the_tables_settings_in_its_order_with_its_types_and_defaults() -> None:
    hints = typing.get_type_hints(SearchConfig)
    assert list(hints) == [s.name for s in SETTINGS]
    default = SearchConfig()
    for s in SETTINGS:
        wanted = _KIND_TYPES[s.kind]
        hint = hints[s.name]
        args = set(typing.get_args(hint))
        if s.optional:
            assert type(None) in args and wanted in args, (s.name, hint)
        elif s.name == "generator":
            assert typing.get_origin(hint) is typing.Literal and args == set(s.choices)
        else:
            assert hint == wanted, (s.name, hint)
        assert getattr(default, s.name) == s.default, s.name


def test_the_limits_defaults_are_the_models() -> None:
    by_name = {s.name: s for s in SETTINGS}
    assert by_name["timeout"].default == DEFAULT_TIMEOUT_S
    assert by_name["memory_mb"].default == DEFAULT_MEMORY_MB
    assert "(default 2)" in by_name["timeout"].help_line()


@pytest.mark.parametrize(("surface", "extra"), [("run", {"-h", "--help", "--json"}),
                                                ("verify", {"-h", "--help", "--json"})])
def test_each_subcommand_offers_exactly_the_tables_flags_for_it(surface: Surface, extra: set[str]) -> None:
    assert _flags(_subparser(surface)) == {s.flag for s in offered(surface)} | extra


def test_the_search_line_offers_exactly_the_tables_flags_for_it() -> None:
    assert _flags(_magic._parser()) == {s.flag for s in offered("magic")} | {"--use", "--resume", "-h", "--help"}


def test_every_flag_is_spelled_and_shown_alike_on_every_surface() -> None:
    magic_help = _magic.help_text()
    for surface in ("run", "verify"):
        cli_help = _subparser(surface).format_help()
        for s in offered(surface):
            assert s.flag is not None and s.flag in cli_help
            if s.metavar is not None:
                assert f"{s.flag} {s.metavar}" in cli_help and f"{s.flag} {s.metavar}" in magic_help


@pytest.mark.parametrize("setting", SETTINGS, ids=[s.name for s in SETTINGS])
def test_search_config_knows_every_spelling_of_every_setting(setting: Setting) -> None:
    for key, inverted in setting.spellings():
        assert lookup(key) == (setting, inverted)
        assert lookup(key.replace("_", "-")) == (setting, inverted)


def test_every_setting_reads_its_environment_variable() -> None:
    samples = {"str": "x", "int": "64", "float": "1.5", "floats": "0.3 0.6"}
    for s in SETTINGS:
        if s.kind == "bool":
            text = "false" if s.default else "true"
        else:
            chosen = {"generator": "synth", "sandbox": "none", "name": "res", "optimize": "runtime"}
            text = chosen.get(s.name, samples[s.kind])
        config, origin = resolve_config(environ={s.env: text})
        assert origin[s.name] == "environment", s.name
        assert getattr(config, s.name) != s.default, s.name


def test_a_bad_value_is_named_by_the_flag_on_the_command_line_as_on_the_search_line(tmp_path: Path) -> None:
    (tmp_path / "spec.py").write_text('def f(x):\n    """Id."""\n\nassert f(1) == 1\n')
    proc = subprocess.run([sys.executable, "-m", "jupyter_codesearch.cli", "run", "spec.py", "-n", "abc"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["jupyter-codesearch: -n: cannot read 'abc' as a whole number"]
    with pytest.raises(ConfigError, match=r"^-n: cannot read 'abc' as a whole number$"):
        _magic.parse_search_options("-n abc")


def test_a_key_given_as_api_key_env_is_refused_everywhere_without_being_repeated() -> None:
    for attempt in (lambda: SearchConfig(api_key_env="sk-abc123-secret"),
                    lambda: resolve_config({}, {"api_key_env": "sk-abc123-secret"})):
        with pytest.raises(ConfigError, match="NAME of the environment variable") as caught:
            attempt()
        assert "sk-abc123" not in str(caught.value)


def _readme_section(title: str) -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def test_the_readme_configuration_table_names_every_setting() -> None:
    table = _readme_section("Configuration")
    named = set(re.findall(r"`(\w+)`", "\n".join(line for line in table.splitlines() if line.startswith("| `"))))
    assert named >= {s.name for s in SETTINGS}


def test_the_readme_names_every_flag_where_it_is_offered() -> None:
    notebook, cli_text = _readme_section("Notebook"), _readme_section("Command line")
    for s in offered("magic"):
        assert f"`{s.flag}" in notebook or f", `{s.flag}" in notebook, s.flag
    run_usage, verify_usage = cli_text.split("jupyter-codesearch verify", 1)
    for surface, usage in (("run", run_usage), ("verify", verify_usage)):
        for s in offered(surface):
            assert f"[{s.flag}" in usage, (surface, s.flag)
