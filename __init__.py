"""tcp-lab: a terminal lab for the TCP three-way handshake and four-way teardown."""

__version__ = "0.1.0"
