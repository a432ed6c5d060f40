"""Chinese labels in PNG/PDF: a CJK font is asked for, and its absence is said, not drawn
as boxes. The graphs come from adversarial_labels, whose names are partly Chinese."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from graph_dot import needs_dot

import tracer
from viewer.graph import build, style
from viewer.graph.fonts import CJK_FONT_PACKAGE, has_cjk, missing_font_warning


def _installed_cjk_families() -> set[str]:
    if shutil.which("fc-list") is None:
        return set()
    listed = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True,
                            text=True).stdout
    return {name.strip() for line in listed.splitlines() for name in line.split(",")}


_CJK_FAMILIES = _installed_cjk_families()
needs_cjk_font = pytest.mark.skipif(
    not _CJK_FAMILIES,
    reason=f"no CJK font is installed (apt-get install {CJK_FONT_PACKAGE}); CI installs one",
)
needs_noto_cjk = pytest.mark.skipif(
    "Noto Sans CJK SC" not in _CJK_FAMILIES,
    reason=f"Noto Sans CJK SC is not installed (apt-get install {CJK_FONT_PACKAGE}); "
           "CI installs it",
)


@pytest.fixture
def adversarial_file(adversarial, tmp_path) -> str:
    return str(tracer.save(adversarial, tmp_path / "adversarial.json"))


@pytest.fixture
def views_file(seed_views, tmp_path) -> str:
    return str(tracer.save(seed_views, tmp_path / "views.json"))


def _path_with(tmp_path, monkeypatch, *, fc_list: str | None) -> None:
    """PATH holding only `dot` and, unless None, an `fc-list` script with this output."""
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "dot").symlink_to(shutil.which("dot"))
    if fc_list is not None:
        script = tools / "fc-list"
        script.write_text(f"#!/bin/sh\nprintf '%s' '{fc_list}'\n")
        script.chmod(0o755)
    monkeypatch.setenv("PATH", str(tools))


@pytest.mark.parametrize("kind", ["calls", "decorators", "routes"])
def test_every_graph_asks_for_a_cjk_face_before_the_generic_one(adversarial, kind) -> None:
    families = style.FONT.split(",")
    assert families.index("Noto Sans CJK SC") < families.index("sans-serif")
    source = build(adversarial, kind, request_id=0).source
    for statement in ("graph", "node", "edge"):
        line = next(line.strip() for line in source.splitlines()
                    if line.strip().startswith(f"{statement} ["))
        assert f'fontname="{style.FONT}"' in line


@needs_noto_cjk
def test_chinese_text_is_drawn_in_a_face_the_list_names() -> None:
    """What fontconfig picks for 类 (U+7C7B) under the graphs' font list: left to its own
    fallback it takes any CJK font, often a Japanese one, whose Chinese glyphs differ."""
    found = subprocess.run(["fc-match", f"{style.FONT}:charset=7c7b", "family"],
                           capture_output=True, text=True, check=True).stdout
    assert found.split(",")[0].strip() in style.FONT.split(",")


@needs_dot
@pytest.mark.parametrize(("fc_list", "suffix"), [(None, ".png"), ("", ".png"), ("", ".pdf")])
def test_no_cjk_font_warns_in_one_line_and_still_writes(
    run, adversarial_file, tmp_path, monkeypatch, fc_list, suffix
) -> None:
    _path_with(tmp_path, monkeypatch, fc_list=fc_list)
    out = tmp_path / f"routes{suffix}"
    result = run("graph", adversarial_file, "--kind", "routes", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("flaskscope: warning: ")
    assert f"apt-get install {CJK_FONT_PACKAGE}" in lines[0]
    assert f"the {suffix} shows it as empty boxes" in lines[0]


@needs_dot
@pytest.mark.parametrize(("fixture", "suffix"),
                         [("adversarial_file", ".svg"), ("views_file", ".png")])
def test_no_warning_when_no_font_is_needed(run, request, tmp_path, monkeypatch, fixture,
                                           suffix) -> None:
    source = request.getfixturevalue(fixture)
    _path_with(tmp_path, monkeypatch, fc_list="")
    out = tmp_path / f"routes{suffix}"
    result = run("graph", source, "--kind", "routes", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


@needs_dot
@needs_cjk_font
def test_no_warning_when_a_cjk_font_is_installed(run, adversarial_file, tmp_path) -> None:
    out = tmp_path / "routes.png"
    result = run("graph", adversarial_file, "--kind", "routes", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def test_only_drawn_text_counts(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no fc-list: every CJK label would warn
    assert has_cjk("类视图") and has_cjk("ひらがな") and has_cjk("한국어")
    assert not has_cjk("café → naïve «»")
    tooltip_only = 'digraph { a [label="view" tooltip="# 中文 \\"注释\\""] }'
    assert missing_font_warning(tooltip_only, "png") is None
    assert missing_font_warning('digraph { a [label="中文"] }', "png") is not None
    assert missing_font_warning('digraph { a [label="中文"] }', None) is None
