"""Kept only as an import path: redaction lives in `mcops.secrets`.

Import `redact_url` from `mcops.secrets`. The last modules that still import it from
here (mcops/scenarios/service_outage.py, mcops/sources/prometheus.py,
mcops/sources/scrape.py, mcops/investigation.py) belong to other work in flight; once
they import from `mcops.secrets`, delete this file.
"""

from __future__ import annotations

from mcops.secrets import redact_url

__all__ = ["redact_url"]
