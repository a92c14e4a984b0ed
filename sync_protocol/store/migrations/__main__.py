"""`python -m sync_protocol.store.migrations current|upgrade URL`, `… revision -m MSG`.

Here rather than in migrate.py: the store package imports migrate.py, so running that
module with -m would execute it twice.
"""

import sys

from sync_protocol.store.migrate import main

sys.exit(main())
