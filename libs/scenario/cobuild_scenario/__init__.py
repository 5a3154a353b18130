"""The main job: a seeded district year played through the four services, then reported."""
