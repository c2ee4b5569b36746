"""The documentation against the code: every command and flag of ``relight`` has its place in docs/cli.md,
every flag docs/cli.md and the README name exists, and every relative link of the Markdown pages
resolves to a file of the repository (and an ``#anchor`` to a heading of that file).

The command tree is walked in process (Typer's click group): the command line imports no torch at start,
so this stays fast."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main

import relight.cli

ROOT = Path(__file__).resolve().parent.parent
CLI_PAGE = ROOT / "docs" / "cli.md"
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "weights").glob("*.md"), *(ROOT / "examples").glob("*.md")])
#: A long flag as written in prose or a command line (not part of a longer word or flag: torchrun's
#: ``--nproc_per_node`` is none).
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9]*(?:-[a-z0-9]+)*(?![\w-])")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def _commands() -> list[tuple[tuple[str, ...], object]]:
    """Every command of ``relight`` as (its path, the click command), the root group first."""
    found = []

    def walk(command: object, path: tuple[str, ...]) -> None:
        found.append((path, command))
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, (*path, name))

    walk(typer.main.get_command(relight.cli.app), ("relight",))
    return found


def _long_flags(command: object, name: str) -> set[str]:
    """The long flags ``relight ... --help`` lists for a command: each option's names and, for a boolean
    flag, its ``--no-x`` secondary names, ``--help`` included."""
    context = command.context_class(command, info_name=name)  # type: ignore[attr-defined]
    flags = set()
    for param in command.get_params(context):  # type: ignore[attr-defined]
        if param.param_type_name == "option":
            flags |= {opt for opt in (*param.opts, *param.secondary_opts) if opt.startswith("--")}
    return flags


COMMANDS = _commands()
ALL_FLAGS = set().union(*(_long_flags(command, path[-1]) for path, command in COMMANDS))


def _outside_code_blocks(text: str) -> list[str]:
    """The page's lines, those of fenced code blocks (and the fences) blank, so that line numbers stay."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            lines.append("")
            continue
        lines.append("" if fenced else line)
    return lines


def _sections(text: str) -> dict[str, str]:
    """The page's sections by heading text, each running to the next heading of its level or above."""
    lines = _outside_code_blocks(text)
    raw = text.splitlines()
    heads = [(i, len(m.group(1)), m.group(2)) for i, line in enumerate(lines) if (m := HEADING.match(line))]
    sections = {}
    for n, (start, level, title) in enumerate(heads):
        end = next((i for i, lvl, _ in heads[n + 1 :] if lvl <= level), len(raw))
        sections[title] = "\n".join(raw[start:end])
    return sections


def _command_sections() -> dict[tuple[str, ...], str]:
    """docs/cli.md's section of each command, by its heading: `` `relight run` ``, `` `relight weights list` ``..."""
    found = {}
    for title, body in _sections(CLI_PAGE.read_text()).items():
        m = re.match(r"`(relight(?: [a-z-]+)*)`", title)
        if m:
            found[tuple(m.group(1).split())] = body
    return found


def _described(section: str) -> set[str]:
    """The flags a section's tables describe: those in the first cell of a row."""
    return {flag for line in section.splitlines() if line.startswith("|") for flag in FLAG.findall(line.split("|")[1])}


@pytest.mark.parametrize("path, command", COMMANDS, ids=[" ".join(path) for path, _ in COMMANDS])
def test_every_command_and_flag_is_in_the_cli_page(path: tuple[str, ...], command: object) -> None:
    """Each command has a section of docs/cli.md headed by its name, which names each of its flags, and
    each flag has a row saying what it does, in that section or under Shared options (``--help``, which
    every command takes, is described once, in the section of ``relight``)."""
    sections = _command_sections()
    assert path in sections, f"docs/cli.md has no section headed `{' '.join(path)}`"
    flags = _long_flags(command, path[-1]) - ({"--help"} if len(path) > 1 else set())
    unnamed = sorted(flags - set(FLAG.findall(sections[path])))
    assert not unnamed, f"docs/cli.md's section `{' '.join(path)}` does not name {unnamed}"
    shared = _sections(CLI_PAGE.read_text()).get("Shared options", "")
    undescribed = sorted(flags - _described(sections[path]) - _described(shared))
    assert not undescribed, f"docs/cli.md describes {undescribed} of `{' '.join(path)}` in no table row"


@pytest.mark.parametrize("page", [CLI_PAGE, ROOT / "README.md"], ids=lambda p: p.name)
def test_the_pages_name_no_flag_relight_lacks(page: Path) -> None:
    named = set(FLAG.findall(page.read_text()))
    invented = sorted(named - ALL_FLAGS)
    assert not invented, f"{page.name} names flags no relight command has: {invented}"


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: markup and punctuation dropped, lower-case, spaces to ``-``."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").replace("*", "")
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading's anchor; a repeated one also as ``-1``, ``-2``, ... as GitHub numbers them."""
    seen: dict[str, int] = {}
    found = set()
    for line in _outside_code_blocks(page.read_text()):
        m = HEADING.match(line)
        if m:
            slug = anchor(m.group(2))
            found.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
            seen[slug] = seen.get(slug, 0) + 1
    return found


def links(page: Path) -> list[str]:
    """The page's link targets outside code (fenced blocks and inline code spans)."""
    prose = "\n".join(re.sub(r"`[^`]*`", "", line) for line in _outside_code_blocks(page.read_text()))
    return [m.group(1) for m in LINK.finditer(prose)]


def test_anchors_follow_githubs_rules() -> None:
    assert anchor("Choosing the light (`--to`, `--from`)") == "choosing-the-light---to---from"
    assert anchor("`relight data pairs`") == "relight-data-pairs"
    assert anchor("The model's own scale") == "the-models-own-scale"
    assert anchor("Equivalence (tests/test_speed_paths.py, 15 s)") == "equivalence-teststest_speed_pathspy-15-s"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for target in links(page):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:: not this test's business
            continue
        path, _, fragment = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if ROOT not in (resolved, *resolved.parents) or not resolved.exists():
            broken.append(f"{target}: no such file")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
            broken.append(f"{target}: no heading #{fragment} in {resolved.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)
