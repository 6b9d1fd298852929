"""What every grading job needs, imported once by the process the workers fork from.

``autograders.pool`` starts its workers from a forkserver that imports this module:
each worker then begins with nbgrader, nbconvert, the feedback exporter, pygments'
lexers for notebook code and SQLAlchemy's SQLite dialect loaded, instead of importing
them all itself (about a second of CPU per worker, on cores the zygote's import of torch
and the record's preparation need at the same time). The one other effect: the process
that imports it leaves without Python's teardown of all that (0.3 s, which the grader
would wait for), as the zygote does; workers leave through ``os._exit`` anyway.
"""
import atexit
import os

import IPython  # noqa: F401  (nbconvert and nbgrader reach for it on the first job)
import sqlalchemy.dialects.sqlite  # noqa: F401
import sqlite3  # noqa: F401
from nbgrader.converters import Autograde, GenerateFeedback  # noqa: F401
from pygments.lexers import get_lexer_by_name

import autograders.feedback  # noqa: F401
import autograders.worker  # noqa: F401

for _name in ("ipython3", "python"):  # the lexers feedback pages highlight with
    get_lexer_by_name(_name)

atexit.register(os._exit, 0)
