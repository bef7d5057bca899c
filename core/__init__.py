"""Sans-I/O domain of tcp-lab: no Textual, no sockets, no threads, no clock reads."""
