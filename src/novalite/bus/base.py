"""The bus contract every transport implements, and the dispatch they share.

Every message is serialized to JSON even in memory, so nothing passes in the
all-in-one shape that could not cross RabbitMQ.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic_core import PydanticSerializationError

from novalite.bus.foreground import ForegroundGate
from novalite.context import RequestContext, current_context
from novalite.exceptions import MessagingTimeout, RemotableError, RemoteError, remotable_error
from novalite.logs import current_instance
from novalite.observability.metrics import count_call_timeout, count_message

LOG = logging.getLogger(__name__)

MessageKind = Literal["cast", "call", "fanout"]


class Envelope(BaseModel):
    kind: MessageKind
    topic: str
    method: str
    args: dict[str, Any] = Field(default_factory=dict)
    context: RequestContext
    msg_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    reply_to: str | None = None


class ReplyError(BaseModel):
    exc_type: str
    message: str
    remotable: bool


class Reply(BaseModel):
    msg_id: str
    result: Any = None
    error: ReplyError | None = None

    def to_json(self) -> str:
        """The wire form. A result JSON cannot carry becomes an error for the caller,
        who would otherwise wait out its timeout for a reply that never left."""
        try:
            return self.model_dump_json()
        except PydanticSerializationError as exc:
            error = ReplyError(exc_type="UnserializableResult", message=str(exc), remotable=False)
            return Reply(msg_id=self.msg_id, error=error).model_dump_json()

    def unwrap(self) -> Any:
        if self.error is None:
            return self.result
        cls = remotable_error(self.error.exc_type) if self.error.remotable else None
        if cls is not None:
            raise cls(self.error.message)
        raise RemoteError(self.error.exc_type, self.error.message)


class Consumer(abc.ABC):
    """A running subscription; stop() ends it."""

    @abc.abstractmethod
    async def stop(self) -> None: ...


def _instance_of(args: dict[str, Any]) -> str | None:
    """The instance a message is about, for log lines (the argument names our services use)."""
    uuid = args.get("uuid") or args.get("instance_uuid")
    instance = args.get("instance")
    if uuid is None and isinstance(instance, dict):
        uuid = instance.get("uuid")
    return uuid if isinstance(uuid, str) else None


class Dispatcher:
    """Runs one decoded message against an endpoint object's public async methods."""

    def __init__(self, endpoint: object, foreground: ForegroundGate | None = None):
        self.endpoint = endpoint
        self.foreground = foreground

    async def dispatch(self, envelope: Envelope) -> Reply:
        if self.foreground is not None and envelope.kind != "call":
            await self.foreground.wait_turn()
        handler = getattr(self.endpoint, envelope.method, None)
        if envelope.method.startswith("_") or handler is None or not callable(handler):
            err = ReplyError(
                exc_type="UnsupportedMethod",
                message=f"{type(self.endpoint).__name__} has no method '{envelope.method}'",
                remotable=False,
            )
            return Reply(msg_id=envelope.msg_id, error=err)
        count_message(envelope.topic, envelope.kind, "received")
        token = current_context.set(envelope.context)
        instance_token = current_instance.set(_instance_of(envelope.args))
        try:
            result = await handler(envelope.context, **envelope.args)
            if envelope.kind == "call":
                count_message(envelope.topic, "reply", "sent")
            return Reply(msg_id=envelope.msg_id, result=result)
        except Exception as exc:  # every failure must reach the caller, not vanish
            remotable = isinstance(exc, RemotableError)
            if not remotable or envelope.kind != "call":
                LOG.exception(
                    "%s %s.%s failed [%s]", envelope.kind, envelope.topic, envelope.method,
                    envelope.context.request_id,
                )
            err = ReplyError(exc_type=type(exc).__name__, message=str(exc), remotable=remotable)
            return Reply(msg_id=envelope.msg_id, error=err)
        finally:
            current_context.reset(token)
            current_instance.reset(instance_token)


class Bus(abc.ABC):
    """cast (one-way), call (request/reply with timeout) and fanout, addressed by topic."""

    def __init__(self, call_timeout: float = 60.0, executor_size: int = 64):
        self.call_timeout = call_timeout
        self.executor_size = executor_size
        # Set when this process also answers HTTP: its consumers' casts then yield to requests.
        self.foreground: ForegroundGate | None = None

    async def start(self) -> None:
        """Connect; idempotent."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def _send(self, envelope: Envelope) -> None:
        """Deliver a cast or fanout envelope."""

    @abc.abstractmethod
    async def _request(self, envelope: Envelope, timeout: float) -> Reply:
        """Deliver a call envelope and wait for its reply (raise MessagingTimeout)."""

    @abc.abstractmethod
    async def serve(self, topic: str, endpoint: object, *, fanout: bool = True) -> Consumer:
        """Consume `topic` (competing with other servers of it) and its fanout."""

    async def queue_depths(self) -> dict[str, int]:
        """Messages waiting per topic, for metrics and `novalite status`."""
        return {}

    def watch(self, topic: str) -> None:
        """Report `topic` in queue_depths though this process never sent to or served it."""

    async def cast(self, topic: str, method: str, ctx: RequestContext, **args: Any) -> None:
        count_message(topic, "cast", "sent")
        await self._send(Envelope(kind="cast", topic=topic, method=method, args=args, context=ctx))

    async def fanout(self, topic: str, method: str, ctx: RequestContext, **args: Any) -> None:
        count_message(topic, "fanout", "sent")
        await self._send(Envelope(kind="fanout", topic=topic, method=method, args=args, context=ctx))

    async def call(
        self, topic: str, method: str, ctx: RequestContext, *, timeout: float | None = None, **args: Any
    ) -> Any:
        envelope = Envelope(kind="call", topic=topic, method=method, args=args, context=ctx)
        count_message(topic, "call", "sent")
        try:
            reply = await self._request(envelope, timeout or self.call_timeout)
        except MessagingTimeout:
            count_call_timeout(topic)
            raise
        count_message(topic, "reply", "received")
        return reply.unwrap()


class BoundedExecutor:
    """Runs handlers as tasks, at most `size` at once, and waits for them on close."""

    def __init__(self, size: int):
        self._slots = asyncio.Semaphore(size)
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, coro_fn: Any, *args: Any) -> None:
        await self._slots.acquire()
        task = asyncio.create_task(coro_fn(*args))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()
