"""nncourse.saving: a checkpoint that looks as if it was written on a GPU."""
import pytest
import torch
from torch import nn

from nncourse.saving import _pretend_tag, save_as_if_on


def test_values_survive_and_map_location_brings_them_to_the_cpu(tmp_path):
    state = nn.Linear(4, 3).state_dict()
    path = tmp_path / "gpu.pt"
    save_as_if_on(state, path)
    loaded = torch.load(path, map_location="cpu", weights_only=True)
    assert loaded.keys() == state.keys()
    for name, tensor in state.items():
        assert loaded[name].device.type == "cpu"
        assert torch.equal(loaded[name], tensor)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU machine can load it")
def test_loading_without_map_location_fails_on_a_cpu_machine(tmp_path):
    path = tmp_path / "gpu.pt"
    save_as_if_on({"w": torch.ones(2)}, path)
    with pytest.raises(RuntimeError, match="map_location"):
        torch.load(path, weights_only=True)


def test_ordinary_saving_is_not_affected(tmp_path):
    save_as_if_on({"w": torch.ones(2)}, tmp_path / "gpu.pt")
    save_as_if_on({"w": torch.ones(2)}, tmp_path / "gpu2.pt")  # registers only once
    registry = torch.serialization._package_registry
    assert sum(tagger is _pretend_tag for _, tagger, _ in registry) == 1
    torch.save({"w": torch.ones(2)}, tmp_path / "cpu.pt")
    assert torch.load(tmp_path / "cpu.pt", weights_only=True)["w"].device.type == "cpu"
