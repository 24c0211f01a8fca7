from nets.config import TrainConfig
from nets.doctor import diagnose


def ep(epoch, train_acc, test_acc, test_loss=1.0, train_loss=1.0):
    return {"epoch": epoch, "train_acc": train_acc, "test_acc": test_acc, "test_loss": test_loss,
            "train_loss": train_loss, "val_acc": None, "val_loss": None}


def kinds(advice):
    return [a.kind for a in advice]


def test_divergence_suggests_a_tenth_of_the_learning_rate():
    cfg = TrainConfig(lr=0.5)
    notes = [{"kind": "Diverged", "epoch": 2, "batch": 7, "loss": float("nan")}]
    (a,) = diagnose(cfg, [ep(1, 0.5, 0.5)], notes, 10)
    assert a.kind == "diverged" and "epoch 2, batch 7" in a.message
    assert a.apply(cfg).lr == 0.05 and a.apply(cfg).model == cfg.model


def test_chance_level_causes():
    stuck = [ep(1, 0.11, 0.1), ep(2, 0.1, 0.1)]
    deep_sigmoid = TrainConfig(model="mlp", hidden=(256, 128, 64), activation="sigmoid")
    (a,) = diagnose(deep_sigmoid, stuck, [], 10)
    assert a.kind == "chance" and "vanishing" in a.title and a.changes == {"activation": "relu"}
    (b,) = diagnose(TrainConfig(lr=1e-6), stuck, [], 10)
    assert b.changes == {"lr": 1e-4}
    (d,) = diagnose(TrainConfig(lr=1000.0), stuck, [], 10)
    assert "too large" in d.title and d.changes == {"lr": 10.0}
    (c,) = diagnose(TrainConfig(lr=0.01), stuck, [], 10)
    assert c.changes == {"optimizer": "adam", "lr": 0.001}
    assert diagnose(TrainConfig(), stuck[:1], [], 10) == []  # one epoch is too early to say
    assert diagnose(TrainConfig(), [ep(1, 0.4, 0.4), ep(2, 0.6, 0.6)], [], 10) == []


def test_overfitting_suggests_dropout_or_augmentation():
    epochs = [ep(1, 0.8, 0.7, test_loss=0.9), ep(2, 0.95, 0.72, test_loss=1.1)]
    (a,) = diagnose(TrainConfig(model="lenet"), epochs, [], 10)
    assert a.kind == "overfitting" and "rising" in a.message and a.changes == {"dropout": 0.5}
    (b,) = diagnose(TrainConfig(model="resnet18", dropout=0.5), epochs, [], 10)
    assert b.changes == {"augment": ("crop", "flip")}
    assert diagnose(TrainConfig(model="lenet"), [ep(1, 0.8, 0.78), ep(2, 0.85, 0.8)], [], 10) == []


def test_slow_squared_error():
    epochs = [ep(1, 0.3, 0.3), ep(2, 0.45, 0.45)]
    (a,) = diagnose(TrainConfig(loss="mse"), epochs, [], 10)
    assert a.kind == "slow-mse" and a.apply(TrainConfig(loss="mse")).loss == "ce"
    assert diagnose(TrainConfig(loss="ce"), epochs, [], 10) == []
