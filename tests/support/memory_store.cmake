# brokergw_test_store: MemoryStore, the in-memory twin of the LMDB store with fault injection
# (tests/support/memory_store.h), for service tests. Included by tests/integration/store.cmake
# (its contract test runs against it); any other test .cmake may include it again (guarded) and
# link brokergw_test_store. No LMDB: only brokergw_core and the store's pure key rules.
include_guard(GLOBAL)
add_library(brokergw_test_store STATIC
  ${PROJECT_SOURCE_DIR}/tests/support/memory_store.cpp
  ${PROJECT_SOURCE_DIR}/tests/support/memory_read.cpp
  ${PROJECT_SOURCE_DIR}/tests/support/memory_write.cpp)
target_link_libraries(brokergw_test_store PUBLIC brokergw_core brokergw_store_keys Threads::Threads)
