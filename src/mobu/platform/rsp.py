"""The local JupyterHub shaped like Nublado's, for the ``nublado`` hub flavour.

:class:`RspHub` is the real :class:`~mobu.platform.hub.LocalHub`, configured as Nublado configures
its hub where that can be done here, so that ``rubin-nublado-client`` drives it unchanged:

- served over **HTTPS** (the client opens ``wss://`` kernel channels) with a certificate signed
  by a CA made for the run (:func:`make_test_ca`); clients trust it through ``SSL_CERT_FILE``;
- a **spawn form** taking the Nublado image-menu fields (``image_class``, ``image_list``,
  ``image_tag``, ``size``, ``enable_debug``), whose choice reaches the lab as
  ``JUPYTER_IMAGE_SPEC`` and ``IMAGE_DESCRIPTION`` (the image menu itself is Nublado's lab
  controller, which cannot run here: the choice is recorded, one local image serves all);
- bearer tokens on browser routes and XSRF checks on (JupyterHub's own);
- a ``/user/<name>/lab`` page (a small server extension: JupyterLab's UI is not installed) and
  an ``lsst`` kernel spec (ipykernel), as RSP images have.

For stop tests, two kinds of user hang on purpose: a user whose name contains ``hangspawn``
never finishes spawning (until the hub is asked to stop the lab, which cancels the spawn), and
one whose name contains ``hanglab`` gets a lab page that never answers.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import ssl
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mobu.platform.hub import HubUnavailableError, LocalHub

__all__ = ["RspHub", "TestCA", "make_test_ca"]

_LAB_EXTENSION = '''\
"""A /lab page for the local RSP hub (JupyterLab's UI is not installed)."""
import asyncio
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web


class LabPage(JupyterHandler):
    @web.authenticated
    async def get(self):
        if "hanglab" in self.base_url:  # a lab whose login never answers (stop tests)
            await asyncio.Event().wait()
        self.xsrf_token  # sets the _xsrf cookie, as the real lab page does
        self.write("<html><body>mobu local RSP lab</body></html>")


def _jupyter_server_extension_points():
    return [{"module": "mobu_rsp_lab"}]


def _load_jupyter_server_extension(app):
    route = url_path_join(app.web_app.settings["base_url"], "lab") + "/?"
    app.web_app.add_handlers(".*$", [(route, LabPage)])
'''

_NUBLADO_CONFIG = r'''
SIZES = ["Fine", "Diminutive", "Tiny", "Small", "Medium", "Large", "Huge", "Gargantuan",
         "Colossal"]
c.Spawner.options_form = """
<select name="image_class"><option value="recommended">Recommended</option>
<option value="latest-release"/><option value="latest-weekly"/><option value="latest-daily"/>
</select><input name="image_list"/><input name="image_tag"/>
<select name="size">""" + "".join(f'<option value="{s}"/>' for s in SIZES) + """</select>
<input type="checkbox" name="enable_debug" value="true"/>
"""

def _options_from_form(form):
    one = lambda key: (form.get(key) or [""])[0]
    if one("image_list"):
        image = one("image_list")
    elif one("image_tag"):
        image = "local/sciplat-lab:" + one("image_tag")
    else:
        image = "local/sciplat-lab:" + (one("image_class") or "recommended")
    size = one("size") or "Large"
    if size not in SIZES:
        raise ValueError("unknown size")
    return {"image": image, "size": size, "debug": one("enable_debug") == "true"}

c.Spawner.options_from_form = _options_from_form

async def _pre_spawn(spawner):
    options = spawner.user_options or {}
    image = options.get("image", "local/sciplat-lab:recommended")
    spawner.environment["JUPYTER_IMAGE_SPEC"] = image
    spawner.environment["IMAGE_DESCRIPTION"] = f"Local {image} ({options.get('size', 'Large')})"
    if "hangspawn" in spawner.user.name:  # a lab whose spawn never ends (stop tests)
        import asyncio
        await asyncio.Event().wait()

c.Spawner.pre_spawn_hook = _pre_spawn

# Browser routes authenticate the bearer token, as Nublado's hub does behind Gafaelfawr's
# ingress (there the token is checked by Gafaelfawr; here the hub checks its own tokens).
import re as _re
from jupyterhub import orm as _orm
from jupyterhub.auth import Authenticator as _Authenticator
from jupyterhub.handlers import BaseHandler as _BaseHandler
from jupyterhub.utils import utcnow as _utcnow
from tornado import web as _web


class _BearerLogin(_BaseHandler):
    async def get(self):
        found = _re.match(r"(?i)bearer\s+(\S+)$", self.request.headers.get("Authorization", ""))
        token = _orm.APIToken.find(self.db, found.group(1)) if found else None
        if token is None or token.user is None:
            raise _web.HTTPError(401, "a valid bearer token is required")
        if token.expires_at is not None and token.expires_at < _utcnow(with_tz=False):
            raise _web.HTTPError(401, "the bearer token has expired")
        user = await self.login_user({"name": token.user.name})
        self.redirect(self.get_next_url(user))


class BearerAuthenticator(_Authenticator):
    auto_login = True

    def get_handlers(self, app):
        return [("/login", _BearerLogin)]

    async def authenticate(self, handler, data):
        return data["name"] if data else None


c.JupyterHub.authenticator_class = BearerAuthenticator
c.Authenticator.allow_all = True
'''


class TestCA:
    """A CA and a server certificate for 127.0.0.1 and localhost, as PEM files in ``directory``."""

    __test__ = False  # not a pytest class

    def __init__(self, directory: Path) -> None:
        self.ca_path = directory / "ca.pem"
        self.cert_path = directory / "server.pem"
        self.key_path = directory / "server-key.pem"

    def ssl_context(self) -> ssl.SSLContext:
        """A client context trusting this CA."""
        return ssl.create_default_context(cafile=str(self.ca_path))


def make_test_ca(directory: Path) -> TestCA:
    """Create a CA and a server certificate signed by it (valid one day)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = TestCA(directory)
    now = datetime.datetime.now(tz=datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mobu local RSP test CA")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    ca.ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    ca.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    ca.key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
        encipher_only=False, decipher_only=False,
    )  # fmt: skip


class RspHub(LocalHub):
    """The local hub over HTTPS, with the Nublado spawn form, a lab page and an lsst kernel.

    Parameters
    ----------
    kwargs
        As for :class:`~mobu.platform.hub.LocalHub` (``extra_config`` is appended after this
        hub's own).
    """

    def __init__(self, **kwargs: Any) -> None:
        extra = kwargs.pop("extra_config", "")
        super().__init__(**kwargs)
        self.ca = make_test_ca(self.dir / "tls")
        self.url = f"https://127.0.0.1:{self.port}/"
        kernels = self.dir / "share" / "kernels" / "lsst"
        kernels.mkdir(parents=True)
        spec = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "LSST",
            "language": "python",
        }
        (kernels / "kernel.json").write_text(json.dumps(spec))
        (self.dir / "ext").mkdir()
        (self.dir / "ext" / "mobu_rsp_lab.py").write_text(_LAB_EXTENSION)
        pythonpath = os.pathsep.join(p for p in (str(self.dir / "ext"), *sys.path) if p)
        self.extra_config = (
            f"""
c.JupyterHub.ssl_cert = {str(self.ca.cert_path)!r}
c.JupyterHub.ssl_key = {str(self.ca.key_path)!r}
c.Spawner.environment = {{
    "JUPYTER_PATH": {str(self.dir / "share")!r},
    "PYTHONPATH": {pythonpath!r},
}}
c.Spawner.args = c.Spawner.args + ["--ServerApp.jpserver_extensions={{'mobu_rsp_lab': True}}"]
"""
            + _NUBLADO_CONFIG
            + extra
        )

    def _wait_ready(self, url: str, headers: dict[str, str], timeout: float) -> None:
        """Poll ``url`` over TLS (trusting the test CA) until 200, under a deadline."""
        deadline = time.monotonic() + timeout
        delay = 0.05
        verify = self.ca.ssl_context()
        with httpx.Client(trust_env=False, timeout=2.0, verify=verify) as client:
            while True:
                if self.proc is None or self.proc.poll() is not None:
                    raise HubUnavailableError(f"hub exited during startup:\n{self.log_tail()}")
                try:
                    if client.get(url, headers=headers).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise HubUnavailableError(f"hub not ready after {timeout}s:\n{self.log_tail()}")
                time.sleep(delay)
                delay = min(delay * 1.5, 0.5)
