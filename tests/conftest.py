import os
import sys

# The test helpers (a real-client wrapper and a bare JWS client) live next to the tests.
sys.path.insert(0, os.path.dirname(__file__))
