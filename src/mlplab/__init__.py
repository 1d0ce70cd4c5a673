"""mlplab: hand-written vs torch.nn MLPs on Iris, and how much of the difference is weight initialization."""
