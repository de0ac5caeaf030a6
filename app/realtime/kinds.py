"""Event kinds: the names used in code, metrics and each fragment's data-event attribute.

Control operations (not shown to anyone) are typed beside them, in control.py.
"""

USER_ONLINE = "user-online"
USER_AWAY = "user-away"
USER_OFFLINE = "user-offline"
TYPING_START = "typing-start"
TYPING_STOP = "typing-stop"
NEW_MESSAGE = "new-message"
MESSAGE_READ = "message-read"
MESSAGE_CHANGED = "message-changed"  # an edit or a delete
DASHBOARD = "dashboard-update"  # operators: charts, and "re-fetch your table"
RESYNC = "resync"
CLOSE = "close"  # the one named event: ends a stream for good (hx-sse:close)

# A slow client may lose these (a newer one supersedes them); it never loses the others.
DROPPABLE = frozenset({USER_ONLINE, USER_AWAY, USER_OFFLINE, TYPING_START, TYPING_STOP,
                       DASHBOARD})

# What is never lost: a slow client resumes for these (and the outbox keeps them across crashes).
DURABLE = frozenset({NEW_MESSAGE, MESSAGE_CHANGED, MESSAGE_READ})

# The event a presence change travels as, by the status it announces.
FOR_STATUS = {"online": USER_ONLINE, "away": USER_AWAY, "offline": USER_OFFLINE}
