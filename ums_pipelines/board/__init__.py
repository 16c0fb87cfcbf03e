"""The live screen board (``ums board serve``): a wall-screen page over the monitoring
snapshot, its JSON and Prometheus /metrics, behind per-user board tokens."""

__all__: list[str] = []
