"""``shulian deploy``: what ops apply, rendered from one source (``deploy/network.toml``)."""
