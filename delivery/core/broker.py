"""The broker that needs no server (the demo without Redis): kombu's filesystem transport, with one fix.

kombu writes a message file in place, and a worker polling the folder can take the file while it is still
empty or half written, then fail to decode it (and stop). Here a message is written under another name in a
folder of its own and renamed into the queue folder when complete: a rename within one filesystem is atomic,
so a reader sees a whole message or none."""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

ALIAS = "trunkline-filesystem"


class Channel(filesystem.Channel):
    # kombu's filesystem Channel names the argument `payload`, its base `message` (the stubs ignore that too).
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        staging = os.path.join(self.transport_options["staging_folder"], name)
        with open(staging, "wb") as message:
            message.write(str_to_bytes(dumps(payload)))
        os.replace(staging, os.path.join(self.data_folder_out, name))


class Transport(filesystem.Transport):
    Channel = Channel


TRANSPORT_ALIASES[ALIAS] = "delivery.core.broker:Transport"
