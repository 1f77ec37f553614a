"""``FakeKong``: a DB-less Kong Admin API double for tests (yours and ours).

See :class:`FakeKong` and ``python -m kic_trio.testing.fakekong --help``.
"""

from ._server import DEFAULT_MAX_BODY_SIZE, EMPTY_HASH, FakeKong, RequestRecord
from ._tls import CertPair, TestCA
from ._validate import BUNDLED_PLUGINS, KongValidator

__all__ = [
    "BUNDLED_PLUGINS",
    "DEFAULT_MAX_BODY_SIZE",
    "EMPTY_HASH",
    "CertPair",
    "FakeKong",
    "KongValidator",
    "RequestRecord",
    "TestCA",
]
