"""The Textual application and the command line of tcp-lab."""
