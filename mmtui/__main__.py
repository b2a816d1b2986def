import sys

from mmtui.cli import main

sys.exit(main())
