"""`python -m cobuild_points`: serve the points service."""

from cobuild_kit.service import serve

from cobuild_points.app import definition

if __name__ == "__main__":
    serve(definition())
