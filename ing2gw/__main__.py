"""``python -m ing2gw``."""

from .cli import main

main()
