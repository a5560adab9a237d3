"""Outgoing HTTP for Python plugins: a small blocking client on ``wasi:http/outgoing-handler``.

    from sluice import http

    response = http.post("https://api.example.com/v1/events",
                         headers={"Content-Type": "application/json"}, body=b'{"id":1}')
    if response.status >= 300:
        raise ValueError(f"HTTP {response.status}: {response.text()}")

Build the component for the HTTP variant of its world — ``--world transform-http-packed`` (or
``sink-http-packed``, ``source-http-packed``; without ``-packed`` the host hands batches over
as WIT records, slower): those import ``wasi:http``, so componentize-py generates the
bindings this module uses (``cargo xtask examples`` picks it when ``app.py`` uses
``sluice.http``).

What a plugin may reach is decided by the host: its connector's ``wasm.network.allow`` grants
``host:port`` entries (a request is allowed exactly where a TCP connect would be) and the
``wasm.http.*`` keys bound body sizes, time and concurrent requests. A refused request raises
:class:`Denied`; the worker log says why and names the key.

Design decisions: the whole request body is sent and the whole response read into memory (the
host caps both); redirects are not followed (the 3xx response is returned, and a request to
its ``Location`` is checked by the host like any other); ``Host``, ``Content-Length``,
``Connection`` and ``Transfer-Encoding`` are the host's.

The generated bindings are imported when this module is (so when the component is built:
componentize-py snapshots the modules imported then, and a plugin has no files to import
from later); without them (plain CPython, or a world without ``wasi:http``) the module still
imports, so plugin code stays unit-testable, and a request raises :class:`HttpError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Mapping, Optional, Tuple, Union

try:
    from componentize_py_types import Err
    from wit_world.imports import outgoing_handler
    from wit_world.imports import streams
    from wit_world.imports import wasi_http_types as t
except ImportError:  # plain CPython, or a world that does not import wasi:http
    outgoing_handler = None

__all__ = ["Response", "HttpError", "Denied", "Failed", "InvalidRequest", "request", "get",
           "post", "put"]

_HOST_HEADERS = {"host", "content-length", "connection", "transfer-encoding", "keep-alive",
                 "upgrade"}


class HttpError(Exception):
    """Why a request got no response."""


class Denied(HttpError):
    """The host refused the request: the connector's ``wasm.network.allow`` does not grant it."""


class Failed(HttpError):
    """The request failed (refused connection, timeout, TLS, a body over the host's limit, …)."""


class InvalidRequest(HttpError):
    """The URL, method or a header cannot be sent."""


@dataclass
class Response:
    """A response: status, headers (names lower case, in order) and the whole body."""
    status: int
    headers: List[Tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> Optional[str]:
        """The first value of header ``name`` (any case)."""
        name = name.lower()
        return next((v for n, v in self.headers if n == name), None)

    def text(self) -> str:
        """The body as UTF-8 text (invalid bytes replaced)."""
        return self.body.decode("utf-8", errors="replace")


def _split_url(url: str) -> Tuple[bool, str, str]:
    """``(https, authority, path_with_query)`` of an ``http(s)://`` URL (fragment dropped)."""
    lower = url.lower()
    if lower.startswith("https://"):
        https, rest = True, url[8:]
    elif lower.startswith("http://"):
        https, rest = False, url[7:]
    else:
        raise InvalidRequest(f"invalid URL `{url}`: only http:// and https:// URLs are supported")
    end = len(rest)
    for sep in "/?#":
        i = rest.find(sep)
        if i != -1:
            end = min(end, i)
    authority, tail = rest[:end], rest[end:].split("#", 1)[0]
    if not authority:
        raise InvalidRequest(f"invalid URL `{url}`: it has no host")
    if not tail:
        tail = "/"
    elif tail.startswith("?"):
        tail = "/" + tail
    return https, authority, tail


def _header_list(headers: Union[None, Mapping[str, str], List[Tuple[str, str]]]
                 ) -> List[Tuple[str, bytes]]:
    items = list(headers.items()) if isinstance(headers, Mapping) else list(headers or [])
    out = []
    for name, value in items:
        if name.lower() in _HOST_HEADERS:
            raise InvalidRequest(f"invalid header `{name}`: it is set by the host")
        out.append((name.lower(), value.encode("utf-8") if isinstance(value, str) else value))
    return out


def request(method: str, url: str, headers: Union[None, Mapping[str, str],
                                                  List[Tuple[str, str]]] = None,
            body: Union[bytes, str] = b"", timeout: Optional[float] = None) -> Response:
    """Sends a request and reads the whole response. ``timeout`` (seconds) bounds connecting
    and the wait for the first byte of the response; the host's ``wasm.http.timeout.ms``
    bounds the whole request in any case."""
    if outgoing_handler is None:
        raise HttpError("sluice.http needs the component to be built for a world that imports "
                        "wasi:http (transform-http-packed, sink-http-packed or "
                        "source-http-packed)")
    https, authority, path = _split_url(url)
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    method = method.upper()
    fields = _header_list(headers)
    sends_body = bool(data) or method in ("POST", "PUT", "PATCH")
    if sends_body:
        fields.append(("content-length", str(len(data)).encode()))
    try:
        header_fields = t.Fields.from_list(fields)
    except Err as e:
        raise InvalidRequest(f"invalid header: {e.value}") from None
    req = t.OutgoingRequest(header_fields)
    methods = {"GET": t.Method_Get(), "HEAD": t.Method_Head(), "POST": t.Method_Post(),
               "PUT": t.Method_Put(), "DELETE": t.Method_Delete(), "PATCH": t.Method_Patch(),
               "OPTIONS": t.Method_Options()}
    try:
        req.set_method(methods.get(method) or t.Method_Other(method))
        req.set_scheme(t.Scheme_Https() if https else t.Scheme_Http())
        req.set_authority(authority)
        req.set_path_with_query(path)
    except Err:
        raise InvalidRequest(f"invalid request: {method} {url}") from None
    options = None
    if timeout is not None:
        options = t.RequestOptions()
        nanos = int(timeout * 1_000_000_000)
        for setter in (options.set_connect_timeout, options.set_first_byte_timeout):
            try:
                setter(nanos)
            except Err:
                pass
    origin = f"{'https' if https else 'http'}://{authority}"
    out_body = req.body()
    try:
        future = outgoing_handler.handle(req, options)
    except Err as e:
        raise _failure(origin, e.value) from None

    # Stream the body; a write fails when the host gave up on the request (refused, over a
    # limit): the response then says why.
    written = True
    if sends_body:
        stream = out_body.write()
        for i in range(0, len(data), 4096):
            try:
                stream.blocking_write_and_flush(data[i:i + 4096])
            except Err:
                written = False
                break
        stream.__exit__(None, None, None)
    finished = None
    try:
        t.OutgoingBody.finish(out_body, None)
    except Err as e:
        finished = e.value

    while True:
        ready = future.get()
        if ready is not None:
            break
        pollable = future.subscribe()
        pollable.block()
        pollable.__exit__(None, None, None)
    inner = ready.value  # Ok(...) on the first get
    if isinstance(inner, Err):
        raise _failure(origin, inner.value)
    response = inner.value
    if finished is not None:
        raise _failure(origin, finished)
    if not written:
        raise Failed(f"HTTP request to {origin} failed: the host stopped reading the request body")
    status = response.status()
    resp_headers = [(n, v.decode("utf-8", errors="replace"))
                    for n, v in response.headers().entries()]
    incoming = response.consume()
    chunks = []
    stream = incoming.stream()
    while True:
        try:
            chunks.append(stream.blocking_read(64 * 1024))
        except Err as e:
            if isinstance(e.value, streams.StreamError_Closed):
                break
            code = t.http_error_code(e.value.value)
            if code is not None:
                raise _failure(origin, code) from None
            raise Failed(f"HTTP request to {origin} failed reading the response body: "
                         f"{e.value.value.to_debug_string()}") from None
    stream.__exit__(None, None, None)
    t.IncomingBody.finish(incoming)
    return Response(status=status, headers=resp_headers, body=b"".join(chunks))


def get(url: str, **kwargs) -> Response:
    return request("GET", url, **kwargs)


def post(url: str, **kwargs) -> Response:
    return request("POST", url, **kwargs)


def put(url: str, **kwargs) -> Response:
    return request("PUT", url, **kwargs)


def _failure(origin: str, code) -> HttpError:
    if isinstance(code, t.ErrorCode_HttpRequestDenied):
        return Denied(f"HTTP request to {origin} denied by the host: not granted by the "
                      f"connector's wasm.network.allow (see the worker log)")
    name = type(code).__name__.removeprefix("ErrorCode_")
    detail = getattr(code, "value", None)
    return Failed(f"HTTP request to {origin} failed: {name}"
                  + (f" ({detail})" if detail is not None else ""))
