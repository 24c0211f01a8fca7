from nets.plots import by_epoch, epochs_frame, loss_points_frame, loss_vs_images, thin


def test_thin_keeps_the_last_point_and_bounds_the_size():
    pts = list(range(1001))
    out = thin(pts, 100)
    assert len(out) <= 101 and out[0] == 0 and out[-1] == 1000
    assert thin([1, 2, 3], 100) == [1, 2, 3]


def test_frames_and_charts():
    epochs = [{"epoch": 1, "train_loss": 1.0, "test_loss": 0.9, "val_loss": None, "train_acc": 0.5,
               "test_acc": 0.6, "val_acc": None},
              {"epoch": 2, "train_loss": 0.5, "test_loss": 0.6, "val_loss": None, "train_acc": 0.8,
               "test_acc": 0.7, "val_acc": None}]
    acc = epochs_frame(epochs, "accuracy", "r1")
    assert sorted(acc["split"].unique()) == ["test", "train"] and len(acc) == 4
    spec = by_epoch(acc, "accuracy").to_dict()
    assert spec["encoding"]["y"]["axis"]["format"] == ".0%"
    pts = loss_points_frame([(64, 2.3), (128, float("nan")), (192, 1.9)])
    assert pts["loss"].tolist() == [2.3, 1.9]  # a NaN point is not drawn
    assert loss_vs_images(pts).to_dict()["mark"]["type"] == "line"
