"""The peers of Parley's key check, for the benchmark only (bench/bench_keys.py).

Each serves the same body as ``/bench/baseline`` behind a Django library a user
might pick instead: djangorestframework-api-key (with and without a DRF throttle on
the shared cache), DRF's ``TokenAuthentication`` and django-rest-knox. They are
installed only for the benchmark (``pip install -e '.[bench]'``).
"""
