"""The local platform ``mobu demo`` and the tests start: launchers of system-installed servers.

JupyterHub and its proxy (:mod:`mobu.platform.hub`), GAVO DaCHS (:mod:`mobu.platform.dachs`),
giftless and git smart-HTTP (:mod:`mobu.platform.lfs`, :mod:`mobu.platform.githttp`) and
Prometheus (:mod:`mobu.platform.prometheus`). They find what ``scripts/install/*.sh`` installed
through :class:`~mobu.platform.settings.PlatformSettings` (``MOBU_PLATFORM_DIR``). The library
never imports this package: only ``mobu.demo`` and ``mobu.cli`` do.
"""
