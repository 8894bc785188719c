from channels.generic.websocket import AsyncJsonWebsocketConsumer


class PingConsumer(AsyncJsonWebsocketConsumer):
    """A liveness probe for authenticated sessions.

    The real notification consumer arrives with the real-time issue; this one proves that
    the ASGI stack, the session, the origin check and the channel layer work end to end.
    """

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
