"""The feedback converter of the grading workers: nbgrader's ``GenerateFeedback`` with one
HTML exporter for the worker's whole life.

``nbgrader generate_feedback`` builds one exporter and renders a whole class with it. A
grading worker runs the converter once per submission, and a new exporter compiles the
feedback template again: about a third of a notebook's feedback time. Keeping the first
exporter (the configuration is the same for every submission) gives the same HTML for
less (``tests/test_grading.py`` compares it with stock nbgrader's).
"""
import json
import os

from nbconvert.writers import FilesWriter
from nbgrader.converters import GenerateFeedback


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
