"""Event kinds: the names used in code, metrics and each fragment's data-event attribute."""

USER_ONLINE = "user-online"
USER_AWAY = "user-away"
USER_OFFLINE = "user-offline"
TYPING_START = "typing-start"
TYPING_STOP = "typing-stop"
NEW_MESSAGE = "new-message"
MESSAGE_READ = "message-read"
RESYNC = "resync"
CLOSE = "close"  # the one named event: ends a stream for good (hx-sse:close)

# A slow client may lose these (a newer one supersedes them); it never loses the others.
DROPPABLE = frozenset({USER_ONLINE, USER_AWAY, USER_OFFLINE, TYPING_START, TYPING_STOP})
ALL = (USER_ONLINE, USER_AWAY, USER_OFFLINE, TYPING_START, TYPING_STOP, NEW_MESSAGE,
       MESSAGE_READ, RESYNC, CLOSE)
