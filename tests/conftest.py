import os

import matplotlib
import pytest

matplotlib.use("Agg")
# Nothing in the suite may reach the network: torchvision and friends see no proxy.
os.environ.setdefault("NO_PROXY", "*")


@pytest.fixture(autouse=True)
def _no_plot_windows(monkeypatch):
    import matplotlib.pyplot as plt
    monkeypatch.setattr(plt, "show", lambda *a, **k: plt.close("all"))
