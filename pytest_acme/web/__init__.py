"""The HTTP edge: routes, JWS authentication, nonces, handlers, the WSGI app."""
