"""`flaskscope graph`: the one place graphs become files.

The output format follows the name given to `-o`: `.dot`/`.gv` is the DOT text and needs
nothing else; `.svg`, `.png` and `.pdf` are rendered by Graphviz's `dot` program. Without
`-o` the DOT text goes to stdout, ready for `| dot -Tsvg`. A `.png` or `.pdf` with Chinese,
Japanese or Korean labels on a machine without a CJK font is still written, with a warning.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import click
import graphviz

from flaskscope.source import line_options, request_options, resolve_source
from viewer.graph.fonts import missing_font_warning
from viewer.graph.kinds import KINDS, build
from viewer.graph.select import GraphError

#: Output formats by file suffix; None means the DOT text itself.
FORMATS: dict[str, str | None] = {".dot": None, ".gv": None, ".svg": "svg", ".png": "png",
                                  ".pdf": "pdf"}
INSTALL_HINT = ("install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew "
                "install graphviz; otherwise your OS package) or write a .dot file instead")


def output_format(output: str | None) -> str | None:
    """The Graphviz format `output`'s suffix asks for; None for DOT text.

    Raises:
        GraphError: The suffix is not one flaskscope writes.
    """
    if output is None:
        return None
    suffix = Path(output).suffix.lower()
    if suffix not in FORMATS:
        raise GraphError(
            f"cannot tell the format of {output!r} from its name; end it in "
            + ", ".join(FORMATS)
        )
    return FORMATS[suffix]


def require_dot(fmt: str) -> None:
    """Fail early, in one line, when rendering needs `dot` and it is not installed."""
    if shutil.which("dot") is None:
        raise GraphError(f"writing .{fmt} needs Graphviz's `dot` program, which is not on "
                         f"PATH: {INSTALL_HINT}")


def render(digraph: graphviz.Digraph, fmt: str | None) -> bytes:
    """The bytes of the file: the DOT text, or what `dot -T<fmt>` makes of it."""
    if fmt is None:
        return digraph.source.encode("utf-8")
    try:
        return digraph.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise GraphError(f"writing .{fmt} needs Graphviz's `dot` program, which could not "
                         f"be run: {INSTALL_HINT}") from None
    except graphviz.CalledProcessError as exc:
        stderr = exc.stderr.decode("utf-8", "replace") if isinstance(exc.stderr, bytes) \
            else str(exc.stderr or "")
        first = next((line for line in stderr.splitlines() if line.strip()), "no message")
        raise GraphError(f"Graphviz's dot failed to render .{fmt}: {first}; write a .dot "
                         "file to look at the input") from None


@click.command()
@click.argument("source", nargs=-1, required=True, metavar="SOURCE")
@request_options
@line_options
@click.option("-k", "--kind", type=click.Choice(KINDS), required=True,
              help="calls: one request's call graph; decorators: each endpoint's layers; "
                   "routes: the URL map.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write here; the suffix picks the format: .dot/.gv, .svg, .png, .pdf "
                   "(the last three need Graphviz). Default: DOT on stdout.")
@click.option("--request", "request_id", type=int, metavar="N",
              help="The request to draw or overlay (default: the trace's first).")
@click.option("--no-request", is_flag=True,
              help="Draw the app alone, without a request overlaid (decorators, routes).")
@click.option("--endpoint", metavar="GLOB",
              help="Only endpoints matching this glob, e.g. 'shop.*' (decorators, routes).")
@click.option("--blueprint", metavar="NAME",
              help="Only this blueprint's routes, nested ones included (decorators, routes).")
def graph(
    source: Sequence[str],
    data: Sequence[str],
    headers: Sequence[str],
    json_text: str | None,
    no_redact: bool,
    lines: bool,
    include: Sequence[str],
    exclude: Sequence[str],
    kind: str,
    output: str | None,
    request_id: int | None,
    no_request: bool,
    endpoint: str | None,
    blueprint: str | None,
) -> None:
    """Draw a trace with Graphviz: a call graph, decorator onions or the route map.

    SOURCE is a trace file, or APP [METHOD] PATH to record one request first
    (with --lines, every function the line engine sees joins the call graph; lines
    themselves are never nodes).
    With a request, the decorators graph shows its endpoint (layers entered are filled,
    the rest dashed) and the routes graph shows how it was resolved.
    """
    fmt = output_format(output)
    if fmt is not None:
        require_dot(fmt)
    trace = resolve_source(source, data, headers, json_text, no_redact, lines=lines,
                           include=include, exclude=exclude, request_id=request_id)
    digraph = build(trace, kind, request_id=request_id, use_request=not no_request,
                    endpoint=endpoint, blueprint=blueprint)
    if output is None:
        click.echo(digraph.source, nl=False)
        return
    content = render(digraph, fmt)
    try:
        Path(output).write_bytes(content)
    except OSError as exc:
        raise GraphError(f"cannot write {output!r}: {exc.strerror}; choose another path") \
            from None
    click.echo(f"{kind} graph written to {output}")
    warning = missing_font_warning(digraph.source, fmt)
    if warning is not None:
        click.echo(f"flaskscope: warning: {warning}", err=True)
