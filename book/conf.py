"""Sphinx settings of the course as a book (a static web site of every lesson with its stored outputs).

Built by ``python3 course.py book`` (``tools/book.py``: it copies the committed notebooks into
``build/book-src/`` and runs Sphinx with this folder as its configuration; nothing is executed). The
site goes to ``build/book/``: open ``build/book/index.html``. Everything it needs is served from the site
itself, MathJax included (``sphinx-mathjax-offline``), so it reads offline and from a plain file server.
"""

from __future__ import annotations

project = "Neural style transfer"
html_title = "Neural style transfer, from feature maps to paintings"
copyright = "the course's authors; paintings and photos: see the credits in images/README.md"
root_doc = "index"
extensions = [
    "myst_nb",                  # notebooks and Markdown pages (MyST), their stored outputs rendered
    "sphinx-mathjax-offline",   # a local MathJax 3 (tex-chtml) instead of the CDN: typesets offline too
]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

# The lessons as committed: full-mode outputs, never re-executed for the book.
nb_execution_mode = "off"
# Markdown that cells display (``display(Markdown(...))``) is parsed like the lessons' own text: $ maths too.
nb_render_markdown_format = "myst"
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3        # links to sections in the lessons' text ([...](#a-heading)) resolve
# No widget JavaScript from a CDN: tools/book.py replaces every widget output by a note and the
# pictures the widget showed when the lesson was executed.
nb_ipywidgets_js = {}
# Every other warning fails the build (tools/book.py runs Sphinx with -W): a missing image, a broken
# reference. Lesson 05's exercises use ### under the lesson's # title, which MyST would warn about.
suppress_warnings = ["myst.header"]

html_theme = "sphinx_book_theme"
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "use_download_button": True,        # the lesson's .ipynb, to open in JupyterLab or Colab
    "use_fullscreen_button": False,
    "show_toc_level": 2,
}
html_static_path: list[str] = []
html_last_updated_fmt = None
html_copy_source = True            # "download .ipynb" serves the notebook copied into the site
html_show_sourcelink = False
