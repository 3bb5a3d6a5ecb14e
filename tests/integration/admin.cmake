# integration_admin: the admin API (gateway/api/admin_routes.cpp) over loopback HTTP, with the
# order service on the in-memory store and a fake adapter (no FIX, no simulator).
include(GoogleTest)
include(${PROJECT_SOURCE_DIR}/tests/support/memory_store.cmake)
add_executable(integration_admin ${PROJECT_SOURCE_DIR}/tests/integration/admin_routes_test.cpp
  ${PROJECT_SOURCE_DIR}/tests/system/harness.cpp)
target_link_libraries(integration_admin PRIVATE brokergw_api brokergw_test_store
  GTest::gtest_main PkgConfig::HTTPLIB nlohmann_json::nlohmann_json Threads::Threads)
target_compile_definitions(integration_admin PRIVATE BROKERGW_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
  BROKERGW_BIN="" BROKERSIM_BIN="")
gtest_discover_tests(integration_admin DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT 60
  LABELS integration)
