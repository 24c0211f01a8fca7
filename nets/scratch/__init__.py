"""The NumPy network written from scratch, its data, its PyTorch twin, the lab's jobs and reports, and its command line."""
