"""Heading anchors for the website that match JupyterLab's, so one link works in both.

JupyterLab gives a heading the id of its text with each space replaced by "-"
("## Where the formulas come from" -> "#Where-the-formulas-come-from"); the notebooks link
to each other that way. MyST lower-cases and strips by default, so the site uses this instead
(`myst_heading_slug_func` in `_config.yml`).
"""


def jupyterlab_slug(text):
    """The id JupyterLab gives a heading with this text."""
    return text.replace(" ", "-")


def setup(app):
    return {"parallel_read_safe": True, "parallel_write_safe": True}
