"""`python -m taxospec` runs the CLI."""

from taxospec.cli import main

if __name__ == "__main__":
    main()
