"""recstream's training engine: two-tower retrieval and a DLRM-style ranker in PyTorch.

Reads a training-set directory written by the TypeScript trainer and writes
the artifacts responders load (see ``models/FORMAT.md``).
"""

import os

# OpenMP threads that spin while they wait for work make every parallel op wait on a
# descheduled sibling when the cores are shared (a CI runner, a host also serving traffic):
# on 2 busy cores a retrieval step took 4x longer spinning than sleeping. It must be set
# before torch loads libgomp, hence here; an explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__all__ = ["__version__"]
__version__ = "1.1.0"
