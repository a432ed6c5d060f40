"""Real Flask apps built on PyPI extensions, recorded and held to the oracle."""
