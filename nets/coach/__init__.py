"""The coach: reads a run's metrics and speaks (the training doctor, how a run ended)."""
