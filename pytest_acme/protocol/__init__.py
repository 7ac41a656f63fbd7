"""The protocol rules: no sockets, no threads, no Werkzeug.  Plain function calls."""
