"""Gateway simulator: stands in for the SMS relay, Kakao AlimTalk, FCM and the mail system.

Start it with ``GatewaySimulator`` (tests, demo) or ``serve_forever`` (``ums gateway-sim``);
point the senders at ``base_url`` and ``smtp_port``; read ``ledger`` (or
``/ledger/v1/...``) to see what the "providers" accepted.

Beyond the providers' own formats the simulator adds, for idempotency and inspection:

- ``Idempotency-Key`` request header on FCM sends (required; real FCM has none);
- ``X-UMS-Idempotency-Key`` mail header (falls back to ``Message-ID``);
- ``GET /receipts/v1?channel=&after=&limit=``: handset receipts by cursor polling;
- ``GET /ledger/v1/summary`` and ``GET /ledger/v1/messages``: the simulator's books.
"""

from ums_pipelines.gateway_sim.app import create_app
from ums_pipelines.gateway_sim.config import SimConfig
from ums_pipelines.gateway_sim.ledger import Ledger
from ums_pipelines.gateway_sim.server import GatewaySimulator, serve_forever

__all__ = ["GatewaySimulator", "Ledger", "SimConfig", "create_app", "serve_forever"]
