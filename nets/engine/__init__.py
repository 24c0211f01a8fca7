"""The training engine: configuration and presets, datasets, models, augmentation, losses, the device, evaluation and the one PyTorch training engine."""
