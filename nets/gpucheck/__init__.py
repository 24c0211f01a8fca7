"""`python -m nets gpu-check`: the GPU path (workers, Ray, mixed precision, channels-last, memory, out of memory) proved in one command."""
