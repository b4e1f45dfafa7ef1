import gc

from referral import create_app

app = create_app()

# What a server process keeps for its life (modules, the app, the workflow definitions: about
# 160,000 objects) is moved out of the cyclic collector's sight: a full collection then scans
# only what requests made since, instead of pausing a worker for tens of milliseconds.
gc.collect()
gc.freeze()
