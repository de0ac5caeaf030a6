"""Blueprints, one per feature.

Ids in URLs are bounded to what the databases hold (signed 64-bit): a larger id is a plain 404,
never an overflow inside the database driver (a 500).
"""

MAX_ID = 2**63 - 1
CONVERSATION = f"/c/<int(max={MAX_ID}):conversation_id>"
