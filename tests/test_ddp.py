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


def test_gpu_recipe_converts_batch_norm_and_keeps_the_state_dict_keys():
    """What the GPU recipe does to the model before DDP, checked without a GPU."""
    net = ddp.make_bn_model(0)
    synced = torch.nn.SyncBatchNorm.convert_sync_batchnorm(ddp.make_bn_model(0))
    assert isinstance(synced[1], torch.nn.SyncBatchNorm)
    assert not isinstance(net[1], torch.nn.SyncBatchNorm)
    assert synced.state_dict().keys() == net.state_dict().keys()
    net.load_state_dict(synced.state_dict(), strict=True)   # loads into plain batch norm
    assert ddp.torchrun_command("OUT", gpu=True)[-1] == "--gpu"
    assert "--gpu" not in ddp.torchrun_command("OUT")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="the nccl recipe needs GPUs")
def test_gpu_recipe_trains_on_every_gpu(tmp_path):
    nproc = torch.cuda.device_count()
    ddp.launch(tmp_path, nproc=nproc, gpu=True)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert (summary["world_size"], summary["backend"]) == (nproc, "nccl")
    net = ddp.make_bn_model()
    net.load_state_dict(torch.load(tmp_path / "model.pt"), strict=True)
    net.eval()
    assert ddp.digits_accuracy(net) > 0.85
