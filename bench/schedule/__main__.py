import sys

from bench.schedule.run import main

sys.exit(main())
