"""A WSGI application served over HTTP/1.1 with keep-alive, on a background thread.

Used for the ACME endpoint and for the management APIs.  The socket is bound
here, so a busy port raises :class:`ServerStartError` with a clear message,
and port 0 picks a free port.

Why not Werkzeug's development server: it answers every request with
``Connection: close`` and, after each response, reads the socket until it has
been quiet for 10 ms, so over HTTPS every request paid a TLS handshake and
those 10 ms.  ACME clients keep their connections open; this server does too.
It builds the same WSGI environ as Werkzeug's server (for the same request
line and headers) and handles the connection itself:

* a request body is read by ``Content-Length`` only, exactly that many bytes,
  so the next request on the connection is never swallowed.  Chunked bodies,
  bodies above :attr:`HttpLimits.max_body_bytes` and unreadable lengths are
  refused before the application runs (see :data:`REFUSED`; 411 for a chunked
  body), and the connection is then closed after reading what the client still
  sends, for a while.  :func:`body_length` holds these rules, for applications
  that read a body themselves too;
* the whole body (at most ``max_body_bytes``) is read before the application
  runs, so a body it leaves unread is dropped and the connection stays open;
* the TLS handshake runs in the connection's own thread within
  :attr:`HttpLimits.handshake_timeout`, so a slow client never holds up the
  accept loop;
* a connection must deliver its next whole request (line, headers and body)
  within :attr:`HttpLimits.idle_timeout` or it is closed: an idle keep-alive
  connection and a client that sends half a request line and stops both free
  their thread.  A response must be taken within that time too.  The sockets
  block without timeouts (a timeout costs a ``poll()`` and another ``read()``
  per read) and a watchdog thread shuts down the connections that are late;
* a request head (request line and header lines) larger than
  :data:`~.request.MAX_HEAD_BYTES` gets 431, and a head or body the client
  never finished (it closed the connection, or the deadline passed) never
  reaches the application;
* RFC 9112 §3.2's Host rule, as Go's net/http applies it: an HTTP/1.1 request
  without a Host, with two Host lines, or with a Host that is not
  ``uri-host[:port]`` is refused with 400 (:func:`.hosts.syntax_problem`);
  applications that build URLs on the Host refuse more with
  :func:`.hosts.url_problem`;
* at most :attr:`HttpLimits.max_connections` connections are served at once;
  the accept loop closes any more as soon as it accepts them, and backs off
  when ``accept()`` fails for want of file descriptors instead of spinning;
* :meth:`WsgiThread.stop` closes idle connections at once and the busy ones
  after their response.

It knows HTTP, not what the application speaks.  Whoever mounts an application
says how its refusals read: a ``refuse`` application for refused requests it may
log (the ACME application answers them as problems with a fresh nonce), and a
:data:`RefusalRenderer` for what no application sees (bytes that are not a
request) and for the 500 sent when the application fails.  The default,
:func:`plain_refusal`, answers as Go's net/http does, so the management and
challtestsrv APIs refuse a malformed request as Pebble and pebble-challtestsrv
do (``400 Bad Request`` as ``text/plain``); :class:`~pytest_acme.AcmeServer`
gives :func:`~pytest_acme.server.problem_refusal`.

Why not h11 for the parsing and framing: measured, it costs too much.  With
``benchmarks/bench_http.py`` (an h11-based handler, in
``benchmarks/h11_connection.py``, keeping this one's environ, limits and Host
rule, in alternating rounds; server CPU from ``/proc``; medians of 5 rounds, on
2 shared cores at a load average of 7 to 9)::

    command                                       measure        hand    h11
    bench_http.py --rounds 5 --requests 3000      CPU/request    57 µs   240 µs
    bench_http.py --rounds 5 --orders 300         CPU/order      4.3 ms  6.2 ms

h11 took 43% more server CPU per whole order (the rule was: adopt it at 10% or
less).  h11 alone, parsing the same request and framing the same response in a
loop without sockets, takes about 90 µs, already 15% of an order's 7 requests'
worth.  So the hand parser stays, and request bodies still need
``Content-Length`` (a chunked body gets 411).
"""

from .connection import REFUSED, HttpLimits, RefusalRenderer, WsgiApp, plain_refusal
from .request import Refusal, body_length
from .server import ServerStartError, WsgiThread

__all__ = ["REFUSED", "HttpLimits", "Refusal", "RefusalRenderer", "ServerStartError", "WsgiApp",
           "WsgiThread", "body_length", "plain_refusal"]
