"""Reader copies of the chapter's notebooks: the prose as plain Markdown, with the build's numbers.

The chapter's notebooks are written in MyST Markdown for the book's build: their
prose carries glue roles (``{glue:text}`name:.3g```) where the run's numbers go,
citations (``{cite}`key```), references to equations, figures and sections,
and ``{glue:figure}`` directives.  Opened in plain Jupyter, Binder or Colab, all
of that would show as raw markup and every number would be missing.

After every HTML build this module writes a *reader copy* of each notebook,
made from the one source the book is written in (nothing is maintained twice):

* every glue role becomes the value the build computed, formatted as in the book;
* every glued figure becomes the figure itself (a PNG attachment of the
  Markdown cell) with its number and caption, ``Fig. 2.3. ...``;
* citations become ``[Kingma and Ba, 2015]`` and a list of references closes the
  notebook; equation references become their numbers, ``(2.1)``, and numbered
  display equations carry ``\\tag{2.1}``; figure references become ``Fig. 2.3``,
  section references the section's title; label lines ``(name)=`` go;
* a banner at the top says that the numbers come from the published build
  (which budget, when) and that running the cells computes them again;
* the set-up cell names the book's repository, so that Colab and Binder can
  install ``lib`` (the source notebooks leave it empty: publishing is one
  change, ``repository.url`` in ``_config.yml``).

The copies replace the build's ``_sources/<page>.ipynb``, which is what the
page's download button serves and what the launch buttons open once the site
is published (see :mod:`tools.launch`).  Code cells are copied unchanged and
without outputs.
"""
from __future__ import annotations

import ast
import datetime
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from tools import notebooks

GLUE_TEXT = re.compile(r"\{glue:text\}`([^`:]+)(?::([^`]*))?`")
CITE = re.compile(r"\{cite(?::([pt]))?\}`([^`]+)`")
EQ = re.compile(r"\{eq\}`([^`]+)`")
NUMREF = re.compile(r"\{numref\}`([^`]+)`")
REF = re.compile(r"\{ref\}`([^`]+)`")
TARGET = re.compile(r"^\(([\w-]+)\)=[ \t]*\n", re.M)
DISPLAY_LABEL = re.compile(r"\$\$(?P<body>[\s\S]*?)\$\$[ \t]*\((?P<label>[\w-]+)\)")
FIGURE = re.compile(r"^```\{glue:figure\}[ \t]+(?P<name>[\w-]+)[ \t]*\n(?P<body>[\s\S]*?)^```[ \t]*$", re.M)
#: What is left that no reader of plain Markdown should see (a test looks for it in every copy).
MYST_LEFTOVERS = re.compile(r"\{(?:glue|cite|eq|numref|ref)[\w:]*\}`|^```\{|^:::\{|^\([\w-]+\)=", re.M)


@dataclass
class Context:
    """What the build knows that the copies need: numbers, titles, citations, values."""

    figures: dict[str, str] = field(default_factory=dict)       # name -> "2.3"
    equations: dict[str, str] = field(default_factory=dict)     # label -> "2.1"
    sections: dict[str, str] = field(default_factory=dict)      # label -> title
    citations: dict[str, str] = field(default_factory=dict)     # key -> "Kingma and Ba, 2015"
    references: dict[str, str] = field(default_factory=dict)    # key -> full reference (Markdown)
    repository: str = ""                                        # "" while unpublished
    budget: str = "full"
    built: str = field(default_factory=lambda: datetime.date.today().isoformat())
    site: str = ""                                              # the HTML book's address, if known


def glued_outputs(executed: Path) -> dict[str, dict]:
    """``{glue name: output}`` of an executed notebook and of the ``.glue.json`` a build leaves beside it."""
    outputs = [output for cell in nbformat.read(executed, as_version=4).cells for output in cell.get("outputs", [])]
    stored = executed.with_suffix(".glue.json")
    if stored.is_file():
        outputs += list(json.loads(stored.read_text(encoding="utf-8")).values())
    found = {}
    for output in outputs:
        scrapbook = output.get("metadata", {}).get("scrapbook", {})
        if scrapbook.get("name"):
            prefix = scrapbook.get("mime_prefix", "")
            data = {key[len(prefix):] if prefix and key.startswith(prefix) else key: value
                    for key, value in output.get("data", {}).items()}
            found[scrapbook["name"]] = data
    return found


def _text(data: dict, spec: str | None, name: str) -> str:
    plain = data.get("text/plain")
    if plain is None:
        raise ValueError(f"glue value {name!r} has no text form")
    plain = "".join(plain) if isinstance(plain, list) else plain
    try:
        value = ast.literal_eval(plain)
    except (ValueError, SyntaxError):
        return plain
    if isinstance(value, str):
        return value
    return format(value, spec) if spec else str(value)


def render_inline(text: str, values: dict[str, dict], context: Context, cited: list[str]) -> str:
    """Every role of one Markdown text replaced by plain text (glue values, citations, references)."""
    def glue(match):
        name = match.group(1)
        if name not in values:
            raise KeyError(f"the prose glues {name!r} but the run did not")
        return _text(values[name], match.group(2), name)

    def cite(match):
        keys = [k.strip() for k in match.group(2).split(",")]
        for key in keys:
            if key not in context.citations:
                raise KeyError(f"unknown citation {key!r}")
            if key not in cited:
                cited.append(key)
        labels = [context.citations[k] for k in keys]
        if match.group(1) == "t":
            return "; ".join(f"{label.rsplit(', ', 1)[0]} [{label.rsplit(', ', 1)[1]}]" for label in labels)
        return "[" + "; ".join(labels) + "]"

    def number(table: dict[str, str], what: str, pattern: str):
        def replace(match):
            label = match.group(1)
            if label not in table:
                raise KeyError(f"unknown {what} {label!r}")
            return pattern.format(table[label])
        return replace

    text = GLUE_TEXT.sub(glue, text)
    text = CITE.sub(cite, text)
    text = EQ.sub(number(context.equations, "equation", "({})"), text)
    text = NUMREF.sub(number(context.figures, "figure", "Fig. {}"), text)
    text = REF.sub(number(context.sections, "section", "{}"), text)
    return text


def _figure(match, values: dict[str, dict], context: Context, cited: list[str]) -> tuple[str, dict]:
    name, body = match.group("name"), match.group("body")
    options, caption = {}, []
    for line in body.splitlines():
        option = re.match(r"^:([\w-]+):\s*(.*)$", line)
        if option and not caption:
            options[option.group(1)] = option.group(2)
        elif line.strip() or caption:
            caption.append(line)
    label = options.get("name", name)
    if name not in values or "image/png" not in values[name]:
        raise KeyError(f"the prose shows figure {name!r} but the run glued no PNG under that name")
    attachment = f"{label}.png"
    png = values[name]["image/png"]
    png = "".join(png) if isinstance(png, list) else png
    number = context.figures.get(label)
    title = f"**Fig. {number}.** " if number else ""
    alt = options.get("alt", "").replace("]", ")")
    text = f"![{alt}](attachment:{attachment})\n\n{title}{render_inline(' '.join(l.strip() for l in caption), values, context, cited)}"
    return text, {attachment: {"image/png": png}}


def render_markdown(source: str, values: dict[str, dict], context: Context, cited: list[str]) -> tuple[str, dict]:
    """One Markdown cell of the book as plain Markdown, and the attachments its figures need."""
    attachments: dict = {}

    def figure(match):
        text, files = _figure(match, values, context, cited)
        attachments.update(files)
        return text

    def display(match):
        label = match.group("label")
        if label not in context.equations:
            raise KeyError(f"unknown equation label {label!r}")
        return f"$${match.group('body').rstrip()} \\tag{{{context.equations[label]}}}\n$$"

    text = TARGET.sub("", source)
    text = FIGURE.sub(figure, text)
    text = DISPLAY_LABEL.sub(display, text)
    text = render_inline(text, values, context, cited)
    return text, attachments


def banner(context: Context) -> str:
    where = f" The book: <{context.site}>." if context.site else ""
    return (f"> **A reader's copy.** The numbers and figures in the text come from the book's build of "
            f"{context.built} under the *{context.budget}* budget. The code cells are the chapter's own: run "
            "them (the first one installs `lib`, the book's library, where it is missing) to train the networks "
            "again and compute the numbers on your machine; the explorers need a running kernel." + where)


def reader_copy(source: Path, executed: Path, context: Context) -> nbformat.NotebookNode:
    """The reader copy of one chapter notebook (see the module docstring).

    Raises:
        KeyError: the prose names a glue value, a citation, an equation, a figure or a
            section the build does not know (a copy with a hole is worse than none).
    """
    nb = nbformat.read(source, as_version=4)
    values = glued_outputs(executed)
    cited: list[str] = []
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            text, attachments = render_markdown(cell.source, values, context, cited)
            new = nbformat.v4.new_markdown_cell(text)
            if attachments:
                new.attachments = attachments
            cells.append(new)
        elif cell.cell_type == "code":
            code = cell.source
            if notebooks.is_setup_cell(cell):
                code = notebooks.setup_cell_source(context.repository)
            cells.append(nbformat.v4.new_code_cell(code, metadata={"tags": cell.metadata.get("tags", [])}))
        else:
            cells.append(cell)
    cells.insert(0, nbformat.v4.new_markdown_cell(banner(context)))
    if cited:
        listing = "\n".join(f"- {context.references[key]}" for key in sorted(cited, key=context.citations.get))
        cells.append(nbformat.v4.new_markdown_cell("## References\n\n" + listing))
    copy = nbformat.v4.new_notebook(metadata=nb.metadata)
    copy.cells = cells
    nbformat.validate(copy)
    return copy


# --------------------------------------------------------------------------- from a Sphinx build

def _last_names(persons) -> list[str]:
    from pybtex.richtext import Text

    return [" ".join(Text.from_latex(part).render_as("text") for part in person.last_names) for person in persons]


def citation_label(entry) -> str:
    """``Kingma and Ba, 2015``: the book's author-year label for a pybtex entry."""
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    names = _last_names(persons)
    who = names[0] if len(names) == 1 else " and ".join(names) if len(names) == 2 else f"{names[0]} et al." \
        if names else entry.fields.get("title", "?")
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


def context_from_sphinx(env, site: str = "") -> Context:
    """Numbers, titles and citations as the HTML build assigned them (its Sphinx environment)."""
    from lib.core import budget

    context = Context(budget=budget.current(), site=site)
    for numbers in env.toc_fignumbers.values():
        for name, number in numbers.get("figure", {}).items():
            context.figures[name] = ".".join(map(str, number))
        for name, number in numbers.get("displaymath", {}).items():
            context.equations[name.removeprefix("equation-")] = ".".join(map(str, number))
    for label, (_, _, title) in env.domaindata["std"]["labels"].items():
        if title:
            context.sections[label] = str(title)
    for citation in env.domaindata.get("cite", {}).get("citations", []):
        context.citations[citation.key] = citation_label(citation.entry)
        # plain text: Markdown's escapes (\\.) would show in some renderers; \\url comes from BibTeX
        context.references[citation.key] = citation.formatted_entry.text.render_as("text").replace("\\url ", "")
    return context


def write_reader_copies(env, outdir: Path, repository: str, site: str = "") -> list[Path]:
    """Write the reader copy of every notebook page into ``<outdir>/_sources/`` (``outdir`` is the
    HTML folder, ``_build/html``; the executed notebooks lie beside it); returns their paths."""
    context = context_from_sphinx(env, site)
    context.repository = repository
    outdir = Path(outdir)
    executed_dir = outdir.parent / "jupyter_execute"
    written = []
    for docname in sorted(env.found_docs):
        source = Path(env.doc2path(docname))
        executed = executed_dir / f"{docname}.ipynb"
        if source.suffix != ".ipynb" or not executed.is_file():
            continue
        target = outdir / "_sources" / f"{docname}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(reader_copy(source, executed, context), target)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    """``python -m tools.reader [_build]``: write the reader copies again from a finished build."""
    import argparse
    import pickle

    from tools.launch import is_published
    from tools.notebooks import repository_url

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("build", nargs="?", type=Path, default=Path("_build"))
    args = parser.parse_args(argv)
    with open(args.build / ".doctrees" / "environment.pickle", "rb") as handle:
        env = pickle.load(handle)
    url = repository_url()
    written = write_reader_copies(env, args.build / "html", url if is_published(url) else "")
    print(f"reader copies: {len(written)} written to {args.build / 'html' / '_sources'}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
