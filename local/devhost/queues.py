"""Queue triggers with the Functions host's semantics, polling Azure Storage queues.

Mirrors the WebJobs queue processor: a batch of up to ``batchSize`` messages is
fetched when fewer than ``newBatchThreshold`` are running; an empty queue is
polled with exponential back-off from 100 ms up to ``maxPollingInterval``; a
message is invisible while its function runs; success deletes it; failure makes
it visible again after ``visibilityTimeout``, and a failure at the
``maxDequeueCount``-th attempt (or a message already over it) moves the original
wire text to ``<queue>-poison``. Bodies are base64 on the wire; the function gets
the decoded bytes, and a body that is not base64 counts as a failed attempt.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from azure.functions.queue import QueueMessage

from local.devhost.hostjson import QueueOptions
from local.devhost.metadata import Function
from shared.logs import describe_exception
from shared.storage.clients import ensure_queue

log = logging.getLogger("local.host")
MIN_POLL_SECONDS = 0.1
LEASE_SECONDS = 600


class QueueRunner:
    """One poller thread per queue-triggered function, with a worker pool for its messages."""

    def __init__(
        self,
        function: Function,
        queue: Any,
        poison: Any,
        options: QueueOptions,
        invoke: Callable[[Function, Any, str], Any],
        stop: threading.Event,
    ) -> None:
        self.function = function
        self._queue = queue
        self._poison = poison
        self._options = options
        self._invoke = invoke
        self._stop = stop
        self.thread = threading.Thread(target=self._loop, name=f"queue:{function.name}", daemon=True)

    @property
    def queue_name(self) -> str:
        return str(self._queue.queue_name)

    def prepare(self) -> bool:
        """Create the trigger queue; False (logged) when storage cannot be reached yet."""
        try:
            ensure_queue(self._queue)
        except Exception as exc:  # storage down at start-up: the poller keeps trying, the host stays up
            log.warning("queue %s: cannot be created yet (%s)", self._queue.queue_name, type(exc).__name__)
            return False
        return True

    def _loop(self) -> None:
        capacity = self._options.batch_size + self._options.new_batch_threshold
        inflight: set[Future[None]] = set()
        delay = MIN_POLL_SECONDS
        while not self._stop.is_set() and not self.prepare():
            self._stop.wait(2.0)
        with ThreadPoolExecutor(max_workers=capacity, thread_name_prefix=f"q:{self.function.name}") as pool:
            while not self._stop.is_set():
                inflight = {f for f in inflight if not f.done()}
                if len(inflight) > self._options.new_batch_threshold:
                    wait(inflight, timeout=0.5, return_when=FIRST_COMPLETED)
                    continue
                batch = self._receive()
                if not batch:
                    self._stop.wait(delay)
                    delay = min(delay * 2, max(MIN_POLL_SECONDS, self._options.max_polling_interval))
                    continue
                delay = MIN_POLL_SECONDS
                inflight |= {pool.submit(self._process, message) for message in batch}
            wait(inflight)

    def _receive(self) -> list[Any]:
        try:
            return list(
                self._queue.receive_messages(
                    messages_per_page=self._options.batch_size,
                    max_messages=self._options.batch_size,
                    visibility_timeout=LEASE_SECONDS,
                )
            )
        except Exception as exc:  # storage hiccups must not kill the poller; back off and retry
            log.warning("queue %s: receive failed: %s", self._queue.queue_name, type(exc).__name__)
            self._stop.wait(1.0)
            return []

    def _process(self, message: Any) -> None:
        if message.dequeue_count > self._options.max_dequeue_count:
            self._to_poison(message)
            return
        invocation_id = str(uuid.uuid4())
        try:
            self._invoke(self.function, _trigger_message(message), invocation_id)
        except Exception as exc:
            log.warning(
                "queue %s message %s attempt %d failed (%s), invocation %s",
                self._queue.queue_name,
                message.id,
                message.dequeue_count,
                describe_exception(exc),
                invocation_id,
            )
            self._release_or_poison(message)
            return
        self._queue.delete_message(message)

    def _release_or_poison(self, message: Any) -> None:
        if message.dequeue_count >= self._options.max_dequeue_count:
            self._to_poison(message)
        else:
            self._queue.update_message(message, visibility_timeout=int(self._options.visibility_timeout))

    def _to_poison(self, message: Any) -> None:
        ensure_queue(self._poison)
        self._poison.send_message(message.content)
        self._queue.delete_message(message)
        log.warning(
            "queue %s message %s moved to %s after %d attempts",
            self._queue.queue_name,
            message.id,
            self._poison.queue_name,
            message.dequeue_count,
        )


def _trigger_message(message: Any) -> QueueMessage:
    try:
        body = base64.b64decode(message.content, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the message body is not base64, as the queue trigger expects") from None
    return QueueMessage(
        id=message.id,
        body=body,
        dequeue_count=message.dequeue_count,
        expiration_time=message.expires_on,
        insertion_time=message.inserted_on,
        time_next_visible=message.next_visible_on,
        pop_receipt=message.pop_receipt,
    )
