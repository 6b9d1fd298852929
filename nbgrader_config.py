"""nbgrader settings of nn-course.

nbgrader reads this file from the folder it runs in (the repository root for the
instructor; the grading tools copy it into every scratch course folder they make).
"""
c = get_config()  # noqa: F821 (nbgrader provides get_config)

c.CourseDirectory.course_id = "nn-course"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
# mutants.py and alternatives.py hold answers for proving the tests: never for students.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback",
                            "mutants.py", "alternatives.py"]
# Students attach files; a runaway output file must not fill the grading disk (kB).
c.CourseDirectory.max_file_size = 20000

# Student copies: a stub that fails loudly, and hidden tests cut out.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearSolutions.enforce_metadata = True
c.ClearHiddenTests.enforce_metadata = True

# Execution: the per-cell limit (nbgrader honours Execute.timeout, not
# ExecutePreprocessor.timeout). Training cells take a few seconds; 120 s leaves room for a
# slow laptop while still stopping an infinite loop.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
c.Execute.startup_timeout = 120

# A test cell that writes anything to stderr scores zero in nbgrader, and a library
# warning would do that. Grades must follow from errors only, so stderr is dropped from
# outputs before grades are determined (the locked setup cell silences warnings too).
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"[\s\S]"

# Long printed output is cut so that feedback and the gradebook stay small.
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100

# Students delete cells: grade cells that went missing are put back and run.
c.OverwriteCells.add_missing_cells = True
# ...and duplicate them: only the last copy of a graded cell stays graded.
c.DeduplicateIds.enabled = True

c.Autograde.create_student = True
c.GenerateAssignment.create_assignment = True

# Several courses (or sections) may share one exchange on a JupyterHub: keep them apart,
# and stamp submissions in one timezone so that late penalties are computed the same way.
c.Exchange.path_includes_course = True
c.Exchange.timezone = "UTC"
