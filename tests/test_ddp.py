"""Chapter 13's training script, launched for real: torchrun, two CPU processes, gloo."""
import json

import pytest
import torch

from nncourse import ddp

TOLERANCE = 1e-5  # the one the lesson states: float32 sums taken in another order


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    finished = ddp.launch(out, nproc=2)
    return out, finished


def test_torchrun_finishes_and_rank0_writes_the_files(run):
    out, finished = run
    assert finished.returncode == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "model.pt", "rank0.pt", "rank1.pt", "summary.json"]
    summary = json.loads((out / "summary.json").read_text())
    # 1437 samples: 719 per rank (one padded), 23 steps of 32 per epoch, 3 epochs
    assert (summary["world_size"], summary["samples_per_rank"], summary["steps"]) == (
        2, 719, 69)


def test_both_ranks_end_with_identical_weights(run):
    out, _ = run
    rank0, rank1 = torch.load(out / "rank0.pt"), torch.load(out / "rank1.pt")
    assert rank0.keys() == rank1.keys()
    for name in rank0:
        assert torch.equal(rank0[name], rank1[name]), name
    trained_weights = rank0["0.weight"]
    assert not torch.equal(trained_weights, ddp.make_model(0)[0].weight.detach())


def test_ddp_matches_single_process_training_on_the_global_batch(run):
    out, _ = run
    rank0 = torch.load(out / "rank0.pt")
    single = ddp.train_single_process(**ddp.DEFAULTS, world_size=2).state_dict()
    for name in rank0:
        diff = (single[name] - rank0[name]).abs().max().item()
        assert diff < TOLERANCE, f"{name}: largest difference {diff:.2e}"


def test_single_process_on_one_rank_of_the_batch_does_not_match(run):
    """The comparison can fail: batches of one rank's size train to other weights."""
    out, _ = run
    rank0 = torch.load(out / "rank0.pt")
    half = ddp.train_single_process(**ddp.DEFAULTS, world_size=1).state_dict()
    assert max((half[n] - rank0[n]).abs().max().item() for n in rank0) > 1e-2


def test_saved_model_loads_into_a_plain_network(run):
    out, _ = run
    net = ddp.make_model()
    net.load_state_dict(torch.load(out / "model.pt"), strict=True)  # no "module." prefix
    assert ddp.digits_accuracy(net) > 0.85


def test_global_batches_join_the_shards_of_every_rank():
    train, _ = ddp.digits_datasets()
    batches = list(ddp.global_batches(train, world_size=2, batch_size=32, seed=0, epoch=1))
    assert len(batches) == 23
    assert [len(y) for _, y in batches] == [64] * 22 + [30]
    X_all = torch.cat([X for X, _ in batches])
    assert X_all.shape == (1438, 64)              # 1437 samples + 1 of padding
    distinct = torch.unique(train.tensors[0], dim=0).shape[0]
    assert torch.unique(X_all, dim=0).shape[0] == distinct  # every sample is seen
