"""Looking inside a network: the per-layer table, anatomy, preprocessing, safe image reading, feature maps and attribution."""
