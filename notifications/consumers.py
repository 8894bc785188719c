import asyncio
import functools
import logging

from channels.consumer import AsyncConsumer, get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.utils import timezone

from cases.kernel.permissions import is_reviewing_institution
from cases.kernel.selectors import cases_for_user
from notifications.delivery import case_group, frame_of, user_group
from notifications.models import Notification

BATCH = 200
logger = logging.getLogger(__name__)


class PingConsumer(AsyncJsonWebsocketConsumer):
    """A liveness probe for authenticated sessions: the ASGI stack, the session, the origin
    check and the channel layer, end to end."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            # Closing before accept() reaches the client as an HTTP 403 refusal.
            await self.close()
            return
        self.user_group = f"user.{user.pk}"
        await self.channel_layer.group_add(self.user_group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if hasattr(self, "user_group"):
            await self.channel_layer.group_discard(self.user_group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if content.get("type") == "ping":
            await self.send_json({"type": "pong", "user": self.scope["user"].email})
        else:
            await self.send_json({"type": "error", "message": "Message inconnu."})

    async def server_message(self, event):
        await self.send_json({"type": "message", "text": event["text"]})


async def _feed(source, inbox: asyncio.Queue) -> None:
    """Moves what ``source`` yields into ``inbox``; an error goes there too, to be raised."""
    try:
        while True:
            await inbox.put(await source())
    except asyncio.CancelledError:
        raise
    except Exception as error:
        await inbox.put(error)


class SerialInbox(AsyncConsumer):
    """Handles the client's and the channel layer's messages one at a time, in the order they
    arrive, as Channels does; but where Channels' loop (await_many_dispatch) starts a task and
    an asyncio.wait() for every message, one long-lived task per source feeds a single queue.
    Measured with bench/notify_latency.py: the server's CPU per notification went from 0.155
    to 0.123 ms. The queue holds one message: a client that floods its socket is read no faster
    than it is served, as uvicorn reads the next message only once the last one is taken."""

    async def __call__(self, scope, receive, send):
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.base_send = send
        sources = [receive]
        try:
            # The pub/sub layer subscribes the new channel in Redis at once.
            self.channel_name = await self.channel_layer.new_channel()
        except Exception:
            # Without Redis the socket still opens and serves the rows, with no live pushes.
            logger.warning("Couche de canaux indisponible : socket sans direct")
            self.channel_name = None
        else:
            sources.append(functools.partial(self.channel_layer.receive, self.channel_name))
        inbox: asyncio.Queue = asyncio.Queue(maxsize=1)
        feeders = [asyncio.create_task(_feed(source, inbox)) for source in sources]
        try:
            while True:
                message = await inbox.get()
                if isinstance(message, Exception):
                    raise message
                await self.dispatch(message)
        except StopConsumer:
            pass
        finally:
            for feeder in feeders:
                feeder.cancel()
            await asyncio.gather(*feeders, return_exceptions=True)


class NotificationConsumer(SerialInbox, AsyncJsonWebsocketConsumer):
    """The user's notifications: every one after the number the client last saw, in order,
    then the live ones. A user's numbers have no gap, so a push that follows the last one sent
    is sent as it is; a push after a gap (one was lost, or came late) makes the consumer read
    the rows instead. Nothing is lost and nothing is sent twice."""

    async def connect(self):
        self.user = self.scope.get("user")
        if self.user is None or not self.user.is_authenticated:
            await self.close()
            return
        # The number of the last notification sent; None until the client says where it stands.
        self.last_sent: int | None = None
        # Watched case -> whether the user may read its private events (a reviewing
        # institution): decided once, at the watch, so that a push costs no query.
        self.watched: dict[int, bool] = {}
        self.live = await self.join(user_group(self.user.pk))
        await self.accept()

    async def join(self, group: str) -> bool:
        """Join a group; without Redis the socket still serves the rows, only later."""
        if self.channel_name is None:
            return False
        try:
            await self.channel_layer.group_add(group, self.channel_name)
        except Exception:
            logger.warning("Couche de canaux indisponible : pas de direct pour %s", group)
            return False
        return True

    async def disconnect(self, code):
        if getattr(self, "user", None) is None or not self.user.is_authenticated:
            return
        if self.channel_name is None:
            return
        groups = [user_group(self.user.pk), *(case_group(case) for case in self.watched)]
        for group in groups:
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception:
                logger.warning("Couche de canaux indisponible : %s non quitté", group)

    async def dispatch(self, message):
        """Channels' own dispatch first closes stale database connections, through the single
        thread for synchronous code, before every message. Here every database access goes
        through database_sync_to_async, which does that itself; skipping the hop removed
        about half the server's time per live notification (bench/notify_latency.py)."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def receive_json(self, content, **kwargs):
        handlers = {
            "hello": self.on_hello,
            "ping": self.on_ping,
            "read": self.on_read,
            "read_all": self.on_read_all,
            "watch": self.on_watch,
        }
        kind = content.get("type") if isinstance(content, dict) else None
        handler = handlers.get(kind) if isinstance(kind, str) else None
        if handler is None:
            await self.send_json({"type": "error", "message": "Message inconnu."})
            return
        await handler(content)

    async def on_hello(self, content):
        last = content.get("last_seq", 0)
        self.last_sent = last if isinstance(last, int) and last >= 0 else 0
        await self.send_missed()
        # "live": False tells the client to reconnect later to get the live stream back.
        await self.send_json(
            {"type": "caught_up", "unread": await self.unread_count(), "live": self.live}
        )

    async def on_ping(self, content):
        await self.send_json({"type": "pong", "time": timezone.now().isoformat()})

    async def on_read(self, content):
        notification_id = content.get("id")
        if isinstance(notification_id, int):
            await self.mark_read(notification_id)
        await self.send_json({"type": "unread", "count": await self.unread_count()})

    async def on_read_all(self, content):
        await self.mark_read(None)
        await self.send_json({"type": "unread", "count": await self.unread_count()})

    async def on_watch(self, content):
        case_id = content.get("case")
        access = await self.watch_access(case_id) if isinstance(case_id, int) else None
        if access is None:
            # The same answer whether the case exists or not.
            await self.send_json({"type": "error", "message": "Dossier introuvable."})
            return
        self.watched[case_id] = access
        live = await self.join(case_group(case_id))
        await self.send_json({"type": "watching", "case": case_id, "live": live})

    async def notification_new(self, event):
        if self.last_sent is None:
            return
        if event["seq"] <= self.last_sent:
            return  # already sent by a catch-up
        if event["seq"] == self.last_sent + 1:
            await self.send(text_data=event["text"])
            self.last_sent = event["seq"]
        else:
            # The client counts what it receives; the exact count comes with each hello.
            await self.send_missed(count=False)

    async def case_changed(self, event):
        reads_private = self.watched.get(event.get("case"))
        if reads_private is None or (event.get("private") and not reads_private):
            return
        await self.send_json({"type": "case_changed", "case": event["case"]})

    async def send_missed(self, count: bool = True):
        while True:
            batch = await self.after(self.last_sent or 0)
            for message in batch:
                await self.send(text_data=frame_of(message)["text"])
                self.last_sent = message["seq"]
            if len(batch) < BATCH:
                break
        if count:
            await self.send_json({"type": "unread", "count": await self.unread_count()})

    @database_sync_to_async
    def after(self, last_seq: int) -> list[dict]:
        rows = Notification.objects.filter(recipient=self.user, seq__gt=last_seq).order_by("seq")
        return [row.as_message() for row in rows[:BATCH]]

    @database_sync_to_async
    def unread_count(self) -> int:
        return Notification.objects.filter(recipient=self.user, read_at__isnull=True).count()

    @database_sync_to_async
    def mark_read(self, notification_id: int | None) -> None:
        mine = Notification.objects.filter(recipient=self.user, read_at__isnull=True)
        if notification_id is not None:
            mine = mine.filter(pk=notification_id)
        mine.update(read_at=timezone.now())

    @database_sync_to_async
    def watch_access(self, case_id: int) -> bool | None:
        """None if the user may not see the case; else whether they read its private events."""
        case = cases_for_user(self.user).filter(pk=case_id).first()
        return None if case is None else is_reviewing_institution(self.user, case)
