"""The repository's set-up files agree with each other: README, CI, requirements, Binder."""
import re
import subprocess

from tools.toc import ROOT

MARKER = "<!-- ci: test command -->"


def _readme_test_command() -> str:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index(MARKER)
    fence = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("```"))
    end = next(i for i in range(fence + 1, len(lines)) if lines[i].startswith("```"))
    return "\n".join(lines[fence + 1:end]).strip()


def test_ci_runs_exactly_the_readme_test_command():
    command = _readme_test_command()
    assert "LR_BOOK_BUDGET=quick" in command and "pytest" in command
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert MARKER in ci
    # run the extraction that .ci/run uses and compare
    awk = re.search(r"test_command=\$\((awk .*?README\.md)\)", ci, re.S).group(1)
    extracted = subprocess.run(["bash", "-c", awk], cwd=ROOT, capture_output=True, text=True, check=True)
    assert extracted.stdout.strip() == command


def test_ci_installs_the_pinned_torch_first_and_then_the_requirements():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    torch_line = ci.index("grep -E '^torch==' requirements.txt")
    assert torch_line < ci.index("pip install --quiet -r requirements.txt") < ci.index("apt-get install")
    assert "apt-get update" in ci


def _torch_pin(path) -> str:
    return next(line.split("==")[1] for line in path.read_text().splitlines() if line.startswith("torch=="))


def test_binder_gets_the_cpu_build_of_the_pinned_torch():
    assert _torch_pin(ROOT / "binder" / "requirements.txt") == _torch_pin(ROOT / "requirements.txt") + "+cpu"
    assert "download.pytorch.org/whl/cpu" in (ROOT / "binder" / "requirements.txt").read_text()


def test_requirements_install_lib_editable_and_the_test_tools():
    requirements = (ROOT / "requirements.txt").read_text().splitlines()
    assert "-e ." in requirements
    names = {re.split(r"[<>=!\s]", line)[0].lower() for line in requirements if line and line[0].isalpha()}
    assert {"jupyter-book", "torch-lr-finder", "playwright", "pytest", "sphinx-mathjax-offline"} <= names
    # a non-editable install (Colab's pip install git+...) must ship every subpackage of lib
    import tomllib
    from setuptools import find_packages

    find = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    shipped = set(find_packages(str(ROOT), include=find["include"]))
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "lib").rglob("__init__.py")}
    assert shipped == on_disk and {"lib", "lib.core", "lib.swa"} <= shipped
