"""recstream's training engine: two-tower retrieval and a DLRM-style ranker in PyTorch.

Reads a training-set directory written by the TypeScript trainer and writes
the artifacts responders load (see ``models/FORMAT.md``).
"""

__all__ = ["__version__"]
__version__ = "1.0.0"
