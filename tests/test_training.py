"""The shared epoch loop: seeded full batches, one step per batch, per-epoch means, divergence stopped."""

from __future__ import annotations

import pytest
import torch

from eval.training import Stepper, batch_rows, steps_per_epoch, train_epochs


@pytest.mark.parametrize("n, batch_size, world", [(10, 4, 1), (10, 4, 2), (3, 8, 1), (12, 6, 3)])
def test_batches_are_disjoint_full_and_as_many_as_counted(n: int, batch_size: int, world: int) -> None:
    batches = batch_rows(n, batch_size, world, epoch=2, seed=5)
    size = min(batch_size, n) // world * world
    assert len(batches) == steps_per_epoch(n, batch_size, world)
    assert all(len(rows) == size for rows in batches)
    flat = torch.cat(batches)
    assert len(set(flat.tolist())) == len(flat) and int(flat.max()) < n
    assert all(torch.equal(a, b) for a, b in zip(batches, batch_rows(n, batch_size, world, epoch=2, seed=5)))


def test_each_epoch_draws_another_order_and_too_few_rows_for_the_processes_are_refused() -> None:
    assert not torch.equal(torch.cat(batch_rows(50, 10, 1, 0, 0)), torch.cat(batch_rows(50, 10, 1, 1, 0)))
    with pytest.raises(ValueError, match="3 training rows cannot be shared among 4 processes"):
        batch_rows(3, 8, 4, 0, 0)


def _stepper(model: torch.nn.Module, lr: float = 0.1) -> Stepper:
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    return Stepper(optimizer, schedule, torch.amp.GradScaler("cuda", enabled=False))


def test_history_holds_each_epochs_mean_parts_and_the_extra_entries() -> None:
    torch.manual_seed(0)
    x, y = torch.randn(12, 3), torch.randn(12, 1)
    model = torch.nn.Linear(3, 1)
    seen: list[float] = []

    def loss(epoch: int, rows: torch.Tensor):
        value = torch.nn.functional.mse_loss(model(x[rows]), y[rows])
        seen.append(value.item())
        return value, {"loss": value.item(), "rows": float(len(rows))}

    def batches(epoch: int) -> list[torch.Tensor]:
        return batch_rows(12, 4, 1, epoch, seed=1)

    before = model.weight.detach().clone()
    history = train_epochs("Toy", 2, batches, loss, _stepper(model), progress=False, extra=lambda e: {"e": e})
    assert len(seen) == 6 and not torch.equal(model.weight, before)  # one step per batch
    for epoch, record in enumerate(history):
        assert record["loss"] == pytest.approx(sum(seen[3 * epoch : 3 * epoch + 3]) / 3)
        assert record["rows"] == pytest.approx(4.0) and record["e"] == epoch


def test_an_epoch_with_losses_that_are_not_finite_stops_training() -> None:
    model = torch.nn.Linear(2, 1)
    epochs_run: list[int] = []

    def loss(epoch: int, rows: torch.Tensor):
        epochs_run.append(epoch)
        value = model(torch.ones(len(rows), 2)).sum() * (float("nan") if epoch == 1 else 1.0)
        return value, {"loss": value.item()}

    with pytest.raises(FloatingPointError, match=r"Toy training diverged at epoch 1: \{'loss': nan\}"):
        train_epochs("Toy", 3, lambda epoch: batch_rows(4, 4, 1, epoch, 0), loss, _stepper(model), progress=False)
    assert epochs_run == [0, 1]
