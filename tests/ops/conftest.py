"""Operations tests use the stream reader and the real PostgreSQL/Redis fixtures."""

from tests.scaleout.conftest import pg_url, redis_prefix  # noqa: F401
from tests.stream.conftest import listen  # noqa: F401
