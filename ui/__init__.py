"""The web chat over the ``rag`` library (Gradio).

Importing this package switches Gradio's and the Hugging Face hub's telemetry off before
Gradio itself is imported: the product must not phone home.
"""

from __future__ import annotations

import os


def disable_telemetry() -> None:
    """Turn off Gradio analytics and Hugging Face hub telemetry for this process."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"


disable_telemetry()

__all__ = ["disable_telemetry"]
