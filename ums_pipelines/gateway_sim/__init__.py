"""Gateway simulator: stands in for the SMS relay, Kakao AlimTalk, FCM and the mail system.

Start it with ``GatewaySimulator`` (tests, demo) or ``serve_forever`` (``ums gateway-sim``);
point the senders at ``base_url`` and ``smtp_port``; read ``ledger`` (or
``/ledger/v1/...``) to see what the "providers" accepted.

Beyond the providers' own formats the simulator adds, for idempotency and inspection:

- ``Idempotency-Key`` request header on FCM sends (required; real FCM has none);
- ``X-UMS-Idempotency-Key`` mail header (falls back to ``Message-ID``);
- ``GET /receipts/v1?channel=&after=&limit=``: handset receipts by cursor polling;
- ``GET /ledger/v1/summary`` and ``GET /ledger/v1/messages``: the simulator's books;
- ``GET /ledger/v1/rate?channel=&window_ms=1000&keyPrefix=``: the most messages accepted
  in any sliding window of that length, for measuring overshoot over a rate limit.

Status queries, for receipts that never came (bearer auth, like the send APIs). The SMS
relay has its own paths, as real relays do; the other channels share one generic form
rather than imitating APIs that Kakao and FCM do not have:

- ``GET /sms/v1/messages/{clientKey}`` and ``GET /status/v1/{channel}/{clientKey}``:
  one message, 404 if it was never accepted;
- ``POST /sms/v1/messages/status`` and ``POST /status/v1/{channel}`` with
  ``{"clientKeys": [...]}`` (1 to 1000): ``{"results": [...]}`` in request order, status
  ``unknown`` for a key never accepted.

A status is ``pending`` until the message's handset receipt is due, then ``delivered``
or ``failed`` with its code, whether or not the receipt itself was lost.

Faults (all off by default; see ``SimConfig``): per send endpoint 503s, timeouts
(recorded, answered after ``hang_ms``), connection resets (TCP RST, no HTTP answer;
recorded first or not), periodic 429 bursts and a sliding-window rate limit (429 with
Retry-After, the whole request refused); in the receipt feed loss, duplication,
reordering (stages out of order, pages shuffled) and delay jitter. Any receipt fault
switches the feed from the plain one (cursor = ledger seq, a receipt not yet due holds
back those behind it) to the event feed (cursor = publication order).
"""

from ums_pipelines.gateway_sim.app import create_app
from ums_pipelines.gateway_sim.config import SimConfig
from ums_pipelines.gateway_sim.ledger import Ledger
from ums_pipelines.gateway_sim.server import GatewaySimulator, serve_forever

__all__ = ["GatewaySimulator", "Ledger", "SimConfig", "create_app", "serve_forever"]
