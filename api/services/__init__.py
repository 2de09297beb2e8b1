"""Application services: the logic behind the routes, so routes stay thin and testable."""
