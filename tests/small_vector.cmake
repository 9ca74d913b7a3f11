# small_vector's checks beyond tests/small_vector_test.cpp.

# Fault injection, aliasing, allocator and element-type matrices: part of small_vector_test.
target_sources(small_vector_test PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/small_vector_matrix_test.cpp)
