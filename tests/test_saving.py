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


def test_check_state_file_says_what_the_file_lacks(tmp_path):
    from nncourse.checks import CheckFailure
    from nncourse.saving import check_state_file

    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    path = tmp_path / "net.pt"
    torch.save(net.state_dict(), path)
    check_state_file(path, net, quiet=True)
    for saved, words in [(dict(net.named_parameters()), "buffers"),
                         (list(net.parameters()), "without names"),
                         (net, "module object")]:
        torch.save(saved, path)
        with pytest.raises(CheckFailure, match=words):
            check_state_file(path, net, quiet=True)


def test_not_restored_names_each_part(tmp_path):
    import copy

    from torch.utils.data import DataLoader, TensorDataset

    from nncourse.saving import not_restored

    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    loader = DataLoader(TensorDataset(torch.randn(6, 3)), batch_size=2, shuffle=True,
                        generator=torch.Generator().manual_seed(1))
    list(loader)
    saved = {"model": copy.deepcopy(model.state_dict()),
             "optimizer": copy.deepcopy(optimizer.state_dict()),
             "torch_rng": torch.get_rng_state(), "loader_rng": loader.generator.get_state()}
    assert not_restored(saved, model, optimizer, loader) == []
    fresh = nn.Linear(3, 2)  # draws random numbers: torch's generator moves on
    fresh_optimizer = torch.optim.SGD(fresh.parameters(), lr=0.1, momentum=0.9)
    list(loader)
    parts = " ".join(not_restored(saved, fresh, fresh_optimizer, loader))
    for words in ("weights", "optimizer", "global random", "loader"):
        assert words in parts


def test_predicted_state_counts_are_checked_and_mistakes_named():
    import pytest
    import torch
    from torch import nn

    from nncourse.checks import CheckFailure
    from nncourse.saving import (check_predicted_optimizer_entries,
                                 check_predicted_state_entries)

    def the_net():
        return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))

    def momentum(params):
        return torch.optim.SGD(params, lr=0.1, momentum=0.9)

    def plain(params):
        return torch.optim.SGD(params, lr=0.1)

    check_predicted_state_entries(9, the_net(), quiet=True)
    check_predicted_optimizer_entries(6, the_net(), momentum, quiet=True)
    check_predicted_optimizer_entries(0, the_net(), plain, quiet=True)
    for got, text in ((6, "parameters only"), (8, "num_batches_tracked")):
        with pytest.raises(CheckFailure, match=text):
            check_predicted_state_entries(got, the_net())
    with pytest.raises(CheckFailure, match="parameters only: buffers"):
        check_predicted_optimizer_entries(9, the_net(), momentum)
    with pytest.raises(CheckFailure, match="too large") as err:
        check_predicted_optimizer_entries(6, the_net(), plain)
    assert "keeps none" not in str(err.value)
    with pytest.raises(CheckFailure, match="an int"):
        check_predicted_state_entries(9.0, the_net())
