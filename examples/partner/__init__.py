"""An example partner of Shulian: a feed follower and a webhook receiver."""
