"""The feedback converter of the grading workers: nbgrader's ``GenerateFeedback``, made
light enough to run once per submission.

``nbgrader generate_feedback`` builds one exporter and renders a whole class with it. A
grading worker runs the converter once per submission, so three things that cost more
than the page itself are done once per worker, or not at all:

- the exporter is kept (a new one compiles the feedback template again);
- every markdown cell and every locked code cell is the same in all the class's
  notebooks: their HTML (markdown rendered, code highlighted) is computed once and kept;
- nbconvert's HTML exporter parses the finished page again with BeautifulSoup only to
  give images without one an ``alt`` text (and make JupyterLab-template cells focusable,
  which the feedback template has none of): half of a page's time. ``FeedbackExporter``
  gives the ``alt`` text as it renders.

The page says what stock nbgrader's says: ``tests/test_grading.py`` compares the two.

A notebook handed in another language (its metadata says which: ``autograders.i18n``)
gets the feedback page's own labels in that language too.
"""
import json
import os
import re

from jinja2 import pass_context
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbconvert.writers import FilesWriter
from nbgrader.converters import GenerateFeedback
from traitlets import default

from autograders.i18n import language_of, localise_feedback

NO_ALT = "No description has been provided for this image"  # nbconvert's words
IMG_WITHOUT_ALT = re.compile(r"(<img)(?![^>]*\salt=)([^>]*?)(\s*/?)>", re.IGNORECASE)
KEPT = 20000  # pieces of HTML a worker keeps (a class's locked cells are far fewer)


class Kept(dict):
    """What was computed for an input, up to ``KEPT`` inputs, then forgotten."""

    def get_or(self, key, compute):
        if key not in self:
            if len(self) >= KEPT:
                self.clear()
            self[key] = compute()
        return self[key]


class KeptHighlight:
    """A highlight filter that highlights each cell's source once."""

    def __init__(self, highlight):
        self.highlight, self.kept = highlight, Kept()

    def __call__(self, source, language=None, metadata=None):
        key = (source, language, json.dumps(metadata, sort_keys=True, default=str))
        return self.kept.get_or(key, lambda: self.highlight(source, language, metadata))


def with_alt_text(html):
    """Every ``<img>`` with an ``alt`` text, as nbconvert's HTML exporter gives them."""
    return IMG_WITHOUT_ALT.sub(
        lambda m: f'{m.group(1)}{m.group(2)} alt="{NO_ALT}"{m.group(3)}>', html)


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTML exporter without the second parse of the page; markdown and
    highlighted code kept across the pages of a worker."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kept_markdown = Kept()
        self.kept_highlight = {}

    @pass_context
    def markdown2html(self, context, source):
        cell = context.get("cell", {})
        path = context.get("resources", {}).get("metadata", {}).get("path", "")
        key = (source, json.dumps(cell.get("attachments", {}), sort_keys=True), path)
        return self.kept_markdown.get_or(
            key, lambda: HTMLExporter.markdown2html(self, context, source))

    def from_notebook_node(self, nb, resources=None, **kw):
        # nbconvert's HTMLExporter.from_notebook_node, less BeautifulSoup
        info = nb.metadata.get("language_info", {})
        lexer = info.get("pygments_lexer", info.get("name", None))
        if lexer not in self.kept_highlight:
            self.kept_highlight[lexer] = KeptHighlight(self.filters.get(
                "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
        resources = self._init_resources(resources)
        data_types = WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self,
                                           resources=resources)
        self.register_filter("highlight_code", self.kept_highlight[lexer])
        self.register_filter("filter_data_type", data_types)
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return with_alt_text(html), resources


class FeedbackConverter(GenerateFeedback):
    exporters = {}  # the configuration, as text -> the exporter built for it

    @default("exporter_class")
    def _exporter_class_default(self):
        return FeedbackExporter

    def start(self):
        # nbgrader's BaseConverter.start, with the exporter kept
        self.init_notebooks()
        self.writer = FilesWriter(parent=self, config=self.config)
        key = json.dumps(self.config, default=repr, sort_keys=True)
        if key not in self.exporters:
            exporter = self.exporter_class(parent=self, config=self.config)
            for pp in self.preprocessors:
                exporter.register_preprocessor(pp)
            self.exporters[key] = exporter
        self.exporter = self.exporters[key]
        currdir = os.getcwd()
        os.chdir(self.coursedir.root)
        try:
            self.convert_notebooks()
        finally:
            os.chdir(currdir)

    def convert_single_notebook(self, notebook_filename):
        try:
            with open(notebook_filename, encoding="utf-8") as fh:
                self.language = language_of(json.load(fh))
        except (OSError, ValueError, AttributeError):
            self.language = "en"
        super().convert_single_notebook(notebook_filename)

    def write_single_notebook(self, output, resources):
        language = getattr(self, "language", "en")
        if language != "en":
            output = localise_feedback(output, language)
        super().write_single_notebook(output, resources)
