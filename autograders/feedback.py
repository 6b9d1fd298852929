"""The feedback converter of the grading workers: nbgrader's ``GenerateFeedback`` with one
HTML exporter for the worker's whole life.

``nbgrader generate_feedback`` builds one exporter and renders a whole class with it. A
grading worker runs the converter once per submission, and a new exporter compiles the
feedback template again: about a third of a notebook's feedback time. Keeping the first
exporter (the configuration is the same for every submission) gives the same HTML for
less (``tests/test_grading.py`` compares it with stock nbgrader's).

A notebook handed in another language (its metadata says which: ``autograders.i18n``)
gets the feedback page's own labels in that language too.
"""
import json
import os

from nbconvert.writers import FilesWriter
from nbgrader.converters import GenerateFeedback

from autograders.i18n import language_of, localise_feedback


class FeedbackConverter(GenerateFeedback):
    exporters = {}  # the configuration, as text -> the exporter built for it

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
