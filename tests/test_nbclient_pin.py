"""SafeExecute (autograders/worker.py) overrides and calls private methods of nbclient and
nbconvert; pyproject.toml bounds nbclient's version. This test fails first when a new
release renames or reshapes one of them, before any grade is wrong."""
import inspect
from importlib import metadata
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:
    import tomli as tomllib

from nbclient import NotebookClient
from nbconvert.preprocessors import ExecutePreprocessor
from packaging.requirements import Requirement

from autograders import ROOT
from autograders.worker import SafeExecute

# name -> parameters (after self) that SafeExecute relies on
PRIVATE = {
    (NotebookClient, "_get_timeout"): ["cell"],
    (NotebookClient, "_async_handle_timeout"): ["timeout", "cell"],
    (NotebookClient, "_async_cleanup_kernel"): [],
    (NotebookClient, "create_kernel_manager"): [],
    (NotebookClient, "async_start_new_kernel_client"): [],
    (NotebookClient, "reset_execution_trackers"): [],
    (NotebookClient, "output"): ["outs", "msg", "display_id", "cell_index"],
    (ExecutePreprocessor, "_check_assign_resources"): ["resources"],
}


def test_the_private_methods_are_there_with_their_parameters():
    for (cls, name), params in PRIVATE.items():
        method = getattr(cls, name, None)
        assert method is not None, f"{cls.__name__}.{name} is gone"
        found = list(inspect.signature(method).parameters)[1:]
        assert found[:len(params)] == params, f"{cls.__name__}.{name}{found}"
        assert issubclass(SafeExecute, cls)


def test_nbclient_is_bounded_and_installed_within_the_bound():
    project = tomllib.loads(Path(ROOT, "pyproject.toml").read_text())["project"]
    spec = next(Requirement(d) for d in project["dependencies"]
                if Requirement(d).name == "nbclient")
    assert any(s.operator in ("<", "<=") for s in spec.specifier), spec
    assert spec.specifier.contains(metadata.version("nbclient")), spec
