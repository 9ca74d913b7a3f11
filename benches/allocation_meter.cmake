# allocation_meter: what the hook adds to operator new, and a scope per request.
frugal_add_bench(allocation_meter)
