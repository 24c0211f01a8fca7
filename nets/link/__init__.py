"""Links that carry a page's settings in its URL: the one codec, and the Train page's lesson links."""
