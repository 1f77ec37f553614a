"""``Config``, the one source of truth for every setting, and where its values come from.

The package is split the way a setting flows: ``_fields`` declares how a field is made (its
metadata drives the flags, the ``CONTROLLER_*`` variables and the README's flag table),
``_convert`` turns strings into typed values, ``_config`` holds :class:`Config` and applies the
checks of ``_validation`` field by field, and ``_sources`` builds a ``Config`` from a command
line, the environment and a ``--config`` file. Nothing here does I/O except reading the
``--config`` file (and :meth:`Config.resolved_admin_token`).
"""

from ._config import Config, config_fields, env_of, flag_of
from ._convert import parse_bool, parse_duration
from ._fields import FEATURE_GATES, LOG_FORMATS, LOG_LEVELS, redact_url
from ._sources import config_from_args, config_from_mapping

__all__ = [
    "FEATURE_GATES",
    "LOG_FORMATS",
    "LOG_LEVELS",
    "Config",
    "config_fields",
    "config_from_args",
    "config_from_mapping",
    "env_of",
    "flag_of",
    "parse_bool",
    "parse_duration",
    "redact_url",
]
