"""`python -m novalite` is the `novalite` command."""

from novalite.cli import main

main()
