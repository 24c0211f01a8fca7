"""Playground: TensorFlow Playground's 2-D datasets, features, networks and training, in PyTorch."""
