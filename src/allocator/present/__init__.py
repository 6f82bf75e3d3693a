"""Presenting results: the Markdown/HTML report, figures, notebook display."""
