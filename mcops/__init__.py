"""mcops: investigate actor-based services from Jupyter notebooks.

The public surface is re-exported here; implementation lives in one module per concept
(`sources/`, `checks/`, `remediate/`, `evidence`, `runner`, ...). Nothing runs at import.
"""

from mcops.errors import McopsError
from mcops.findings import Finding, Level

__all__ = ["Finding", "Level", "McopsError"]
__version__ = "0.1.0"
