import sys

from bench.trigger.run import main

sys.exit(main())
