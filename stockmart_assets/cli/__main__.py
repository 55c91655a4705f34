import sys

from stockmart_assets.cli import main

sys.exit(main())
