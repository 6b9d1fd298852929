"""nbgrader made quicker where a grading run asks it the same thing again and again.

A grading worker runs nbgrader's converters once per submission, hundreds of times in
one process. Two things nbgrader does afresh each time cost more than the answer:

- ``jsonschema.validate`` checks nbgrader's metadata schema itself before it checks a
  cell's metadata against it, for every cell of every notebook (0.05 s a notebook):
  ``compile_metadata_schema`` checks the schema once and keeps its validator;
- every ``Gradebook`` makes a new SQLAlchemy engine, whose compiled statements are then
  lost (a worker opens eight gradebook sessions a submission): ``share_engines`` keeps
  one engine per database.

Each gives what nbgrader gives: the same errors for bad metadata, the same rows.
"""
import functools
import json


class CompiledSchemas:
    """``jsonschema.validate`` with each schema checked once and its validator kept."""

    def __init__(self, jsonschema):
        self.jsonschema = jsonschema
        self.ValidationError = jsonschema.ValidationError
        self.validators = {}

    def validate(self, instance, schema):
        key = json.dumps(schema, sort_keys=True)
        if key not in self.validators:
            cls = self.jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            self.validators[key] = cls(schema)
        error = self.jsonschema.exceptions.best_match(
            self.validators[key].iter_errors(instance))
        if error is not None:
            raise error

    def __getattr__(self, name):
        return getattr(self.jsonschema, name)


def compile_metadata_schema():
    """nbgrader's metadata checks (``CheckCellMetadata``) with a compiled schema."""
    import jsonschema
    from nbgrader.nbgraderformat import common

    if not isinstance(common.jsonschema, CompiledSchemas):
        common.jsonschema = CompiledSchemas(jsonschema)


def share_engines():
    """One SQLAlchemy engine per gradebook for all of this process's ``Gradebook``s."""
    import nbgrader.api

    if not hasattr(nbgrader.api.create_engine, "cache_info"):
        nbgrader.api.create_engine = functools.lru_cache(maxsize=16)(
            nbgrader.api.create_engine)
