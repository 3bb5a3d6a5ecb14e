# Integration tests of the LMDB store (docs/STORE.md) on real LMDB files under /tmp, and the
# store contract run against both the LMDB store and its in-memory twin (tests/support).
# store_crash_writer is the process that store_crash_test SIGKILLs mid-write.
include(GoogleTest)
include(${PROJECT_SOURCE_DIR}/tests/support/memory_store.cmake)

add_executable(store_crash_writer ${PROJECT_SOURCE_DIR}/tests/integration/store_crash_writer.cpp)
target_link_libraries(store_crash_writer PRIVATE brokergw_store)

add_executable(integration_store
  ${PROJECT_SOURCE_DIR}/tests/integration/store_test.cpp
  ${PROJECT_SOURCE_DIR}/tests/integration/store_codec_test.cpp
  ${PROJECT_SOURCE_DIR}/tests/integration/store_events_test.cpp
  ${PROJECT_SOURCE_DIR}/tests/integration/store_open_orders_test.cpp
  ${PROJECT_SOURCE_DIR}/tests/integration/store_concurrency_test.cpp
  ${PROJECT_SOURCE_DIR}/tests/integration/store_crash_test.cpp)
# LMDB and nlohmann directly: the tests forge corrupt records and inspect raw tables.
target_link_libraries(integration_store PRIVATE
  brokergw_store PkgConfig::LMDB nlohmann_json::nlohmann_json GTest::gtest_main Threads::Threads)
target_compile_definitions(integration_store PRIVATE
  STORE_CRASH_WRITER="$<TARGET_FILE:store_crash_writer>")
add_dependencies(integration_store store_crash_writer)

# The contract (store/store.h) against LMDB and MemoryStore, and MemoryStore's fault injection.
add_executable(integration_store_contract
  ${PROJECT_SOURCE_DIR}/tests/integration/store_contract_test.cpp
  ${PROJECT_SOURCE_DIR}/tests/integration/store_memory_faults_test.cpp)
target_link_libraries(integration_store_contract PRIVATE
  brokergw_store brokergw_test_store GTest::gtest_main Threads::Threads)

# Every store test carries two labels: "integration" (its tier) and "concurrency": each one
# goes through a committer thread (several also race threads), and CI's ThreadSanitizer build
# runs `ctest -L concurrency`.
# CMake 3.25's gtest_discover_tests flattens a list-valued property (LABELS "a;b" arrives as
# LABELS a b, and only "a" sticks), so a script that ctest runs after the discovered tests are
# defined sets the full list on each of them (<target>_TESTS is the discovered list).
foreach(target integration_store integration_store_contract)
  gtest_discover_tests(${target}
    DISCOVERY_TIMEOUT 30
    PROPERTIES TIMEOUT 120 LABELS integration)
  set(labels_script ${CMAKE_CURRENT_BINARY_DIR}/${target}_labels.cmake)
  file(WRITE ${labels_script}
    "foreach(t IN LISTS ${target}_TESTS)\n"
    "  set_tests_properties(\"\${t}\" PROPERTIES LABELS \"integration;concurrency\")\n"
    "endforeach()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${labels_script})
endforeach()
