"""Sample captures shipped with tcp-lab."""
