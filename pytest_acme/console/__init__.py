"""The console: a live web page to see and steer a running server.

A person testing an ACME client by hand runs ``pytest-acme serve`` and opens
the ``console:`` URL of its banner (``/console/`` on the management port), or
sets a breakpoint in a test and opens ``acme_server.console_url``.  The pages
show what the server holds (orders, accounts, authorizations, certificates, the
request log, faults, the DNS zone, the clock) and follow it without a reload;
their forms advance the clock, arm and disarm faults, edit the DNS zone, set a
certificate's renewal window and reset the server.

How it is built:

* :mod:`.view` is the only module that reads the server, through
  :class:`~pytest_acme.AcmeServer`'s Python API (snapshots of
  :mod:`pytest_acme.inspection`, ``describe()``, ``faults``, ``dns``, ``clock``);
* :mod:`.actions` turns a submitted form into one call of that same API (what
  ``server.faults.add(...)``, ``server.dns.set_txt(...)``, ``server.reset()`` do
  from Python or the management API), so no state changes here of its own;
* :mod:`.pages` renders HTML on the server, one function per page, from the
  blocks of :mod:`.blocks`: :class:`markupsafe.Markup` templates, which escape
  every value put into them;
* :mod:`.app` routes, checks the per-console CSRF token of every POST and sets
  a Content-Security-Policy that allows the console's own CSS and script only;
* ``static/console.js`` (plain JavaScript, no library) polls the page it is on
  and swaps in the parts marked ``data-live``.
"""

from .app import PREFIX, ConsoleApp, make_console_app, mount

__all__ = ["PREFIX", "ConsoleApp", "make_console_app", "mount"]
