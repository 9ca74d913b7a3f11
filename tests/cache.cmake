# cache: the Catch2 cases (those tagged [concurrent] also run under TSan).
frugal_add_test(cache)
frugal_add_test(cache_stress)
