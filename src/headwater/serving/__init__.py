"""What runs inside an endpoint replica: load the function, answer predictions on a socket."""

from headwater.serving.asgi import ReplicaApp, Stats, app

__all__ = ["ReplicaApp", "Stats", "app"]
