"""A small, real OpenID Connect provider on loopback, for the browser tests of ``st.login``.

It speaks the authorization-code flow as Streamlit (through Authlib) uses it, over plain HTTP on
127.0.0.1, in a thread of the test process:

* ``/.well-known/openid-configuration``: the discovery document Streamlit's ``server_metadata_url``
  names (PKCE with S256 offered, so Streamlit turns it on);
* ``/authorize``: checks ``client_id``, ``redirect_uri`` (exactly the one registered), ``response_type``
  and ``scope``, then, with no login form, redirects the browser straight back to ``redirect_uri`` with a
  one-time ``code`` and the ``state``; the user it signs in is ``OIDCProvider.login_as``, which a test
  sets before it clicks "Sign in";
* ``/token``: checks the client's secret (HTTP Basic or form), the code, the ``redirect_uri`` and the
  PKCE ``code_verifier``, and returns an access token and an ``id_token``: a JWT signed RS256 with a key
  made at start, holding ``iss``, ``aud`` (the client id), ``sub``, ``email``, ``email_verified``, the
  ``nonce`` from the authorize request, ``iat``, ``exp`` and ``at_hash``;
* ``/jwks``: the public half of that key; ``/userinfo``: the claims, for a bearer of the access token.

Anything wrong is answered with an OAuth error (400/401), never a redirect, so a broken flow fails the
test instead of signing someone in. ``issued`` lists the emails an ``id_token`` was issued for.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from joserfc import jwt  # Authlib's JOSE library (Authlib >= 1.6 verifies id_tokens with it)
from joserfc.jwk import RSAKey

CODE_LIFETIME_S = 60
TOKEN_LIFETIME_S = 300


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _s256(verifier: str) -> str:
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


class OIDCProvider:
    """One client (``client_id``/``client_secret``) and one redirect URI (set ``redirect_uri`` once the
    app's port is known). Use as a context manager: it serves from ``__enter__`` to ``__exit__``."""

    def __init__(self, client_id: str, client_secret: str, login_as: str = "ann@example.com") -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri: str | None = None
        self.login_as = login_as
        self.issued: list[str] = []
        self._codes: dict[str, dict] = {}
        self._tokens: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._key = RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8), "use": "sig",
                                                          "alg": "RS256"})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.metadata_url = f"{self.issuer}/.well-known/openid-configuration"
        self._thread = threading.Thread(target=self._server.serve_forever, name="oidc-provider", daemon=True)

    def __enter__(self) -> OIDCProvider:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # --- the protocol --------------------------------------------------------------------------------

    def metadata(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce", "email", "email_verified", "name"],
        }

    def jwks(self) -> dict:
        return {"keys": [self._key.as_dict(private=False)]}

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], dict | None]:
        """(status, headers, error body): a 302 back to the client, or a 400 saying what was wrong."""
        if query.get("client_id") != self.client_id:
            return 400, {}, {"error": "unauthorized_client", "error_description": "unknown client_id"}
        if self.redirect_uri is None or query.get("redirect_uri") != self.redirect_uri:
            return 400, {}, {"error": "invalid_request",
                             "error_description": f"redirect_uri {query.get('redirect_uri')!r} is not registered"}
        if query.get("response_type") != "code" or "openid" not in query.get("scope", "").split():
            return 400, {}, {"error": "invalid_request", "error_description": "need response_type=code, scope openid"}
        challenge, method = query.get("code_challenge"), query.get("code_challenge_method")
        if challenge is not None and method != "S256":
            return 400, {}, {"error": "invalid_request", "error_description": "only S256 PKCE is supported"}
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = {"email": self.login_as, "nonce": query.get("nonce"),
                                 "redirect_uri": query["redirect_uri"], "challenge": challenge,
                                 "expires": time.time() + CODE_LIFETIME_S}
        back = {"code": code}
        if "state" in query:
            back["state"] = query["state"]
        return 302, {"Location": f"{self.redirect_uri}?{urlencode(back)}"}, None

    def token(self, form: dict[str, str], authorization: str | None) -> tuple[int, dict]:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.startswith("Basic "):
            decoded = base64.b64decode(authorization[6:]).decode("utf-8")
            client_id, _, client_secret = (unquote(part) for part in decoded.partition(":"))
        if client_id != self.client_id or client_secret is None or not secrets.compare_digest(
                client_secret, self.client_secret):
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") != "authorization_code":
            return 400, {"error": "unsupported_grant_type"}
        with self._lock:
            grant = self._codes.pop(form.get("code", ""), None)  # one use only
        if grant is None or grant["expires"] < time.time():
            return 400, {"error": "invalid_grant", "error_description": "unknown, used or expired code"}
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri differs from the authorize one"}
        if grant["challenge"] is not None and _s256(form.get("code_verifier", "")) != grant["challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "PKCE code_verifier does not match"}
        access_token = secrets.token_urlsafe(32)
        now = int(time.time())
        email = grant["email"]
        claims = {"iss": self.issuer, "aud": self.client_id, "sub": hashlib.sha256(email.encode()).hexdigest()[:24],
                  "email": email, "email_verified": True, "name": email.split("@")[0].title(),
                  "iat": now, "exp": now + TOKEN_LIFETIME_S,
                  "at_hash": _b64url(hashlib.sha256(access_token.encode("ascii")).digest()[:16])}
        if grant["nonce"] is not None:
            claims["nonce"] = grant["nonce"]
        id_token = jwt.encode({"alg": "RS256", "kid": self._key.kid}, claims, self._key)
        with self._lock:
            self._tokens[access_token] = {k: claims[k] for k in ("sub", "email", "email_verified", "name")}
            self.issued.append(email)
        return 200, {"access_token": access_token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME_S,
                     "scope": "openid email profile", "id_token": id_token}

    def userinfo(self, authorization: str | None) -> tuple[int, dict]:
        token = authorization[7:] if authorization and authorization.startswith("Bearer ") else ""
        with self._lock:
            info = self._tokens.get(token)
        return (200, info) if info else (401, {"error": "invalid_token"})


def _handler_for(provider: OIDCProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args) -> None:  # noqa: A002 - quiet: pytest shows failures, not traffic
            pass

        def _send(self, status: int, body: dict | None, headers: dict[str, str] | None = None) -> None:
            payload = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            url = urlsplit(self.path)
            query = {key: values[0] for key, values in parse_qs(url.query).items()}
            if url.path == "/.well-known/openid-configuration":
                self._send(200, provider.metadata())
            elif url.path == "/jwks":
                self._send(200, provider.jwks())
            elif url.path == "/authorize":
                status, headers, error = provider.authorize(query)
                self._send(status, error, headers)
            elif url.path == "/userinfo":
                self._send(*provider.userinfo(self.headers.get("Authorization")))
            else:
                self._send(404, {"error": "not_found"})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8")
            if urlsplit(self.path).path != "/token":
                self._send(404, {"error": "not_found"})
                return
            form = {key: values[0] for key, values in parse_qs(body).items()}
            self._send(*provider.token(form, self.headers.get("Authorization")))

    return Handler
