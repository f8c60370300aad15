"""Settings for the benchmark server: the production settings (run.py sets SCARLOG_ENV=
production and the rest), plus the bare "hello" view that measures the framework floor."""
from config.settings import *

ROOT_URLCONF = "bench_urls"
