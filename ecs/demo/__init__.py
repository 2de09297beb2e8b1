"""``ecs simulate --days N``: a demo population with weeks of history, through the real APIs."""
