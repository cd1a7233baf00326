"""Settings by environment: ``local`` (embedded default), ``test``, ``production``."""
