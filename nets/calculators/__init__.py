"""The calculators, one module per page: forward pass, logic network, convolution arithmetic, entropy."""
