"""`python -m cobuild_console`: serve the workbench."""

from cobuild_console.app import serve

if __name__ == "__main__":
    serve()
