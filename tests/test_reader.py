"""tools.reader: a reader copy says in plain Markdown what the book's page says, with the build's values."""
from __future__ import annotations

import base64
import json

import nbformat
import pytest

from tools import notebooks, reader

PNG = base64.b64encode(b"\x89PNG fake image bytes").decode()


def _glue(name: str, plain: str | None = None, png: str | None = None) -> dict:
    """A glue output as an executed notebook holds it (the papermill mime prefix included)."""
    prefix = "application/papermill.record/"
    data = {}
    if plain is not None:
        data[prefix + "text/plain"] = plain
    if png is not None:
        data[prefix + "image/png"] = png
    return {"output_type": "display_data", "data": data,
            "metadata": {"scrapbook": {"name": name, "mime_prefix": prefix}}}


@pytest.fixture
def chapter(tmp_path):
    source = nbformat.v4.new_notebook()
    source.cells = [
        nbformat.v4.new_code_cell(notebooks.setup_cell_source(), metadata={"tags": ["remove-cell"]}),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_markdown_cell(
            "(sec-x)=\n## A section\n\nThe rate {glue:text}`best:.3g` beat {glue:text}`worst` "
            "({glue:text}`verdict`) as {cite}`kingma2015adam` and {cite:t}`smith2017cyclical` say; "
            "see {eq}`eq-a`, {numref}`fig-a` and {ref}`sec-x`.\n\n"
            "$$\nw = 1\n$$ (eq-a)\n"),
        nbformat.v4.new_markdown_cell(
            "```{glue:figure} a_fig\n:name: fig-a\n:alt: A plot of the loss.\n\n"
            "Loss after {glue:text}`steps` updates.\n```\n"),
    ]
    executed = nbformat.v4.new_notebook()
    executed.cells = [nbformat.v4.new_code_cell("glue", outputs=[
        nbformat.from_dict(_glue("best", "0.123456")), nbformat.from_dict(_glue("a_fig", "<Figure>", PNG))])]
    source_path, executed_path = tmp_path / "c.ipynb", tmp_path / "exec" / "c.ipynb"
    executed_path.parent.mkdir()
    nbformat.write(source, source_path)
    nbformat.write(executed, executed_path)
    # values the build kept out of the notebook go to a .glue.json beside it, as myst-nb writes them
    stored = {name: _glue(name, plain) for name, plain in (("worst", "2"), ("verdict", "'holds'"), ("steps", "300"))}
    executed_path.with_suffix(".glue.json").write_text(json.dumps(stored))
    context = reader.Context(figures={"fig-a": "2.3"}, equations={"eq-a": "2.1"}, sections={"sec-x": "A section"},
                             citations={"kingma2015adam": "Kingma and Ba, 2015", "smith2017cyclical": "Smith, 2017"},
                             references={"kingma2015adam": "Kingma, Ba. Adam. 2015.",
                                         "smith2017cyclical": "Smith. Cyclical rates. 2017."},
                             repository="https://github.com/someone/book", budget="full", built="2026-01-02")
    return source_path, executed_path, context


def test_a_reader_copy_has_the_values_numbers_citations_and_figures_in_plain_markdown(chapter):
    copy = reader.reader_copy(*chapter)
    banner, setup, code, prose, figure, references = copy.cells
    assert "reader's copy" in banner.source and "2026-01-02" in banner.source and "*full* budget" in banner.source
    assert setup.source == notebooks.setup_cell_source("https://github.com/someone/book")
    assert code.source == "x = 1" and code.outputs == []
    assert prose.source == (
        "## A section\n\nThe rate 0.123 beat 2 (holds) as [Kingma and Ba, 2015] and Smith [2017] say; "
        "see (2.1), Fig. 2.3 and A section.\n\n$$\nw = 1 \\tag{2.1}\n$$\n")
    assert figure.source == ("![A plot of the loss.](attachment:fig-a.png)\n\n"
                             "**Fig. 2.3.** Loss after 300 updates.\n")
    assert figure.attachments == {"fig-a.png": {"image/png": PNG}}
    assert references.source == ("## References\n\n- Kingma, Ba. Adam. 2015.\n- Smith. Cyclical rates. 2017.")
    for cell in copy.cells:
        assert not reader.MYST_LEFTOVERS.search(cell.source)


@pytest.mark.parametrize("edit, missing", [
    (lambda s: s.replace("{glue:text}`worst`", "{glue:text}`nowhere`"), "glues 'nowhere'"),
    (lambda s: s.replace("{cite}`kingma2015adam`", "{cite}`unknown2020`"), "unknown citation 'unknown2020'"),
    (lambda s: s.replace("{numref}`fig-a`", "{numref}`fig-b`"), "unknown figure 'fig-b'"),
    (lambda s: s.replace("{eq}`eq-a`", "{eq}`eq-b`"), "unknown equation 'eq-b'"),
])
def test_a_hole_in_the_copy_is_an_error_not_a_silent_gap(chapter, edit, missing):
    source, executed, context = chapter
    nb = nbformat.read(source, as_version=4)
    nb.cells[2].source = edit(nb.cells[2].source)
    nbformat.write(nb, source)
    with pytest.raises(KeyError, match=missing):
        reader.reader_copy(source, executed, context)


def test_the_books_citation_labels_are_author_year():
    from pybtex.database import Entry, Person

    one = Entry("article", fields={"year": "2017"}, persons={"author": [Person("Smith, Leslie N.")]})
    two = Entry("article", fields={"year": "2015"}, persons={"author": [Person("Kingma, Diederik P."), Person("Ba, Jimmy")]})
    many = Entry("article", fields={"year": "2021"}, persons={"author": [Person("Cohen, J."), Person("Kaur, S."),
                                                                          Person("Li, Y.")]})
    organisation = Entry("misc", fields={"year": "2020"}, persons={"author": [Person("{Microsoft AI-Edu}")]})
    accents = Entry("article", fields={"year": "2018"}, persons={"author": [Person("Bottou, L{\\'e}on")]})
    assert [reader.citation_label(e) for e in (one, two, many, organisation)] == [
        "Smith, 2017", "Kingma and Ba, 2015", "Cohen et al., 2021", "Microsoft AI-Edu, 2020"]
    assert reader.citation_label(accents) == "Bottou, 2018"
