# metrics: counters, histograms, lookups and the scrape against prometheus-cpp 1.0 (Debian's
# prometheus-cpp-dev), a std::atomic and a thread-local add. prometheus-cpp is built against
# libstdc++: no benchmark under libc++ or where it is missing.
find_package(prometheus-cpp CONFIG QUIET)
if(TARGET prometheus-cpp::core AND NOT CMAKE_CXX_FLAGS MATCHES "stdlib=libc\\+\\+")
  frugal_add_bench(metrics prometheus-cpp::core)
endif()
