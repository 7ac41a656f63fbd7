"""Sphinx configuration of the pytest-acme documentation.

Build it as CI does (warnings are errors)::

    python -m pip install -e '.[docs]'
    sphinx-build -W --keep-going -b html docs docs/_build/html

Pages are Markdown (MyST); the reference is generated from the package's
docstrings (autodoc, with napoleon for their Google-style ``Args:``), the
command-line reference from the argparse parser (sphinx-argparse), and the
route tables and the examples by the small directives in ``_ext/acme_docs.py``.
"""

import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

project = "pytest-acme"
author = "the pytest-acme authors"
copyright = "the pytest-acme authors"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinxarg.ext",
    "acme_docs",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build"]
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented"
autodoc_class_signature = "separated"
autodoc_default_options = {"members": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True

html_theme = "alabaster"
html_title = "pytest-acme"
