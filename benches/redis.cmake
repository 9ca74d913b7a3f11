# redis: tiered_cache against a redis-server the binary starts on loopback (L1 hit, L2 hit,
# miss, MGET against N GETs, threads, a two-instance stampede), with a raw hiredis GET as the
# limit. Only where hiredis is found.
if(TARGET frugal::redis)
  frugal_add_bench(redis frugal::redis)
endif()
