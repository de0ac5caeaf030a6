"""peewee models, one module per aggregate."""

from app.models.conversation import DIRECT, GROUP, Conversation
from app.models.membership import Membership
from app.models.message import Message
from app.models.outbox import Outbox
from app.models.read_log import ReadLog
from app.models.session import Session
from app.models.user import User
from app.models.user_status import UserStatus

__all__ = [
    "DIRECT", "GROUP", "Conversation", "Membership", "Message", "Outbox", "ReadLog", "Session",
    "User", "UserStatus",
]
