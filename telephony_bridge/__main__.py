"""``python -m telephony_bridge``: read the environment once, run until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from .bridge import Bridge
from .client import LoginFailed
from .settings import Settings


async def _main(settings: Settings) -> None:
    bridge = Bridge(settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, bridge.stop)
    await bridge.run()


def main() -> int:
    """Exit 0 when stopped, 2 when the configuration or the AMI credentials are wrong."""
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(f"telephony_bridge: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(_main(settings))
    except LoginFailed:
        logging.getLogger("telephony_bridge").critical("AMI login refused; check AMI_USERNAME/AMI_SECRET")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
