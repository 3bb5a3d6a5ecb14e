# Integration tests of the QuickFIX message store on LMDB (adapters/fix/lmdb_message_store.h):
# the MessageStore contract on real LMDB files under /tmp, and a real QuickFIX initiator and
# acceptor on 127.0.0.1 (restart without a sequence reset, resend answered from the store).
# LMDB directly: one test forges corrupt records behind the store's back.
include(GoogleTest)
add_executable(integration_fix_store ${PROJECT_SOURCE_DIR}/tests/integration/fix_store_test.cpp)
target_link_libraries(integration_fix_store PRIVATE brokergw_fix brokergw_store
  PkgConfig::LMDB GTest::gtest_main Threads::Threads)
gtest_discover_tests(integration_fix_store
  DISCOVERY_TIMEOUT 30
  PROPERTIES TIMEOUT 120 LABELS integration)
# Labels "integration" and "concurrency" (QuickFIX threads, the store's committer): CI's
# ThreadSanitizer build runs `ctest -L concurrency`. Set by a script for the reason given in
# store.cmake (gtest_discover_tests keeps only the first label of a list).
set(integration_fix_store_labels ${CMAKE_CURRENT_BINARY_DIR}/integration_fix_store_labels.cmake)
file(WRITE ${integration_fix_store_labels}
  "foreach(t IN LISTS integration_fix_store_TESTS)\n"
  "  set_tests_properties(\"\${t}\" PROPERTIES LABELS \"integration;concurrency\")\n"
  "endforeach()\n")
set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${integration_fix_store_labels})
