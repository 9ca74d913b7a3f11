# bytes: the Catch2 cases (the [concurrent] ones also run under TSan).
frugal_add_test(bytes)
