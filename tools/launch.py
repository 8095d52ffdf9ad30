"""Sphinx extension: launch buttons that are never dead, and the reader copies they open.

One place names the book's repository: ``repository.url`` in ``_config.yml``.

* While it is not configured (empty, or the placeholder :data:`PLACEHOLDER`),
  the build leaves out the Binder, Colab, live-code (Thebe) and repository
  buttons, which could only lead to a page that does not exist, and says so in
  its output.
* Once it is, the buttons open the *reader copies* of the notebooks
  (:mod:`tools.reader`: the prose as plain Markdown with the published numbers),
  which the build writes into ``_sources/`` and which publishing the site puts
  on the branch :data:`PUBLISH_BRANCH` of the repository::

      pip install ghp-import && ghp-import --no-jekyll --push --force _build/html

  Binder builds its environment from ``binder/requirements.txt`` on that branch:
  the build writes it there too, installing ``lib`` from the repository itself.

Publishing is therefore one change: set ``repository.url``.  The reader copies
are written after every HTML build, published or not (the page's download
button serves them, and readers of a local build open them in Jupyter).
"""
from __future__ import annotations

from pathlib import Path

#: The value ``_config.yml`` carries until the book has a repository of its own.
PLACEHOLDER = "https://github.com/OWNER/REPOSITORY"
#: The branch a published site lives on (``ghp-import``'s default, GitHub Pages').
PUBLISH_BRANCH = "gh-pages"
#: Where the reader copies sit in the published site.
READER_FOLDER = "_sources"


def is_published(url) -> bool:
    """True for a repository address the launch buttons can use (a GitHub repository, not the placeholder)."""
    return isinstance(url, str) and url.startswith("https://github.com/") and url.rstrip("/") != PLACEHOLDER \
        and url.rstrip("/").count("/") == 4


def configure(theme_options: dict) -> str:
    """Point the theme's buttons at the reader copies, or leave them out; returns what was done, for the log."""
    url = theme_options.get("repository_url", "")
    if not is_published(url):
        theme_options["launch_buttons"] = {}
        for button in ("use_repository_button", "use_issues_button", "use_edit_page_button"):
            theme_options[button] = False
        return (f"repository.url in _config.yml is {url or 'empty'!r}, not the book's repository: the Binder, Colab, "
                "live-code and repository buttons are left out (set repository.url to publish the book)")
    theme_options["repository_branch"] = PUBLISH_BRANCH
    theme_options["path_to_docs"] = READER_FOLDER
    return (f"launch buttons open the reader copies on branch {PUBLISH_BRANCH} of {url} "
            f"(publish with: ghp-import --no-jekyll --push --force _build/html)")


def binder_requirements(source: Path, url: str) -> str:
    """``binder/requirements.txt`` for the published branch: the same, with ``-e .`` installing ``lib`` from ``url``."""
    lines = []
    for line in Path(source).read_text(encoding="utf-8").splitlines():
        lines.append(f"git+{url}" if line.strip() == "-e ." else line)
    return "\n".join(lines) + "\n"


def _on_config_inited(app, config) -> None:
    message = configure(config.html_theme_options)
    print(f"[launch] {message}", flush=True)


def _on_build_finished(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    from tools import reader

    url = app.config.html_theme_options.get("repository_url", "")
    published = is_published(url)
    written = reader.write_reader_copies(app.env, Path(app.outdir), url if published else "",
                                         getattr(app.config, "html_baseurl", "") or "")
    print(f"[launch] reader copies of {len(written)} notebook(s) written to {Path(app.outdir) / READER_FOLDER}",
          flush=True)
    if published:
        target = Path(app.outdir) / "binder"
        target.mkdir(exist_ok=True)
        root = Path(app.srcdir)
        (target / "requirements.txt").write_text(binder_requirements(root / "binder" / "requirements.txt", url),
                                                 encoding="utf-8")
        (target / "runtime.txt").write_text((root / "binder" / "runtime.txt").read_text(encoding="utf-8"),
                                            encoding="utf-8")


def setup(app):
    app.connect("config-inited", _on_config_inited)
    app.connect("build-finished", _on_build_finished)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
